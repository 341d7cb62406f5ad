"""Ingestion of X12 files into the denial store (see ingest.py for the contract)."""
from core.ingest.ingest import expand, ingest_bytes, ingest_file, ingest_paths
from core.ingest.payers import payer_code
from core.ingest.report import FileReport, IngestReport

__all__ = ["FileReport", "IngestReport", "expand", "ingest_bytes", "ingest_file", "ingest_paths", "payer_code"]
