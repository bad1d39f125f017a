// Live capture tests (issue 5) go here.
