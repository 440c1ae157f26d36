"""A synthetic sales history for `make demo`: a year of transcripts and CRM deals.

`write_demo_history(out_dir)` writes `demo_transcripts.jsonl` (the format
`talktracks import-transcripts` reads) and `demo_deals.csv` (the format `talktracks
import-deals` reads). Every deal carries the CRM column `data_origin = synthetic-demo`, which
the report uses to say clearly that the data are synthetic.
"""

from talktracks.demo.history import DemoConfig, DemoHistory, generate_history, write_demo_history

__all__ = ["DemoConfig", "DemoHistory", "generate_history", "write_demo_history"]
