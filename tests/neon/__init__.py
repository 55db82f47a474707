"""Tests of the local Neon-like stack (`chatgate db start --profile neon`)."""
