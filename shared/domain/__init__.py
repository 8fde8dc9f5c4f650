"""Pure domain rules: documents, phones, money, holidays, the contact policy, Pix, promise rules, masking, ids, models, errors. No I/O."""
