"""Tools that build voxgate's datasets once, run from the repository root.

Nothing here ships in the installed package or runs behind a user's command: `voxgate` reads only
the files these tools wrote (`src/voxgate/data/`, `bench/data/`).
"""
