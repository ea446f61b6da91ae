# Issue 5: real programs' test suites, stress with verification, security tests
