"""Follow-up (tindak lanjut) of funded proposals: records, dated updates, imports, exports and the public summary."""
