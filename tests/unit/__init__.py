"""Fast tests of pure logic."""
