// Tests for `wirestate check` (issue 4) go here.
