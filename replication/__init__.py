"""Replication of harvested releases' files across sites with Rucio.

Files become Rucio DIDs (a scope per source or experiment, a dataset per release, a container per record cluster),
replication rules follow the policy in the home's `replication.toml`, and replica states flow back into the
catalogue so search, record pages and `dmlake where` show where every file is. Driven by the catalogue's change feed.
"""
