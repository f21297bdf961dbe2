"""`python -m lattice_embed ...` is the `lattice-embed` command."""

from lattice_embed.cli import main

raise SystemExit(main())
