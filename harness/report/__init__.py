"""Results files, leaderboards and the regression gate (everything after judging)."""
