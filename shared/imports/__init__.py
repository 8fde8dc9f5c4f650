"""The import pipeline: spreadsheets read, rows validated, targets ingested."""
