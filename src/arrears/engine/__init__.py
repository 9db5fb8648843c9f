"""Portfolio-wide computation of the daily run: the reference engine (the oracle) and the vectorised ones."""
