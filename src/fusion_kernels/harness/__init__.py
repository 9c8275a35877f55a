"""Measuring, reporting and the command line's tools: figures, reports, asv, comparisons, the site."""
