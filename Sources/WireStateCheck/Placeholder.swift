// Filled by the `wirestate check` work (issue 4).
