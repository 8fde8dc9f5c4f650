"""Pure domain rules: documents, phones, chat ids, channels, money, holidays, the contact policy, the time bar, Pix, promise rules, masking, ids, models, errors. No I/O."""
