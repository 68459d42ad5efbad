"""Personal-data rights (UU 27/2022, DESIGN §8): the data export, account erasure, IP retention."""
