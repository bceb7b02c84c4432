"""spp-import: enrollment spreadsheets into OpenSPP, safely and fast."""
