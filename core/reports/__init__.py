"""Reports over the denial store: the managers' KPIs (kpi.py), computed in SQL and Python, no web code."""
