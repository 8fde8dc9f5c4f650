"""Pure domain rules: documents, phones, money, holidays, the contact policy, Pix, promise rules, cases (invoice rows folded per customer), masking, ids, models, errors. No I/O."""
