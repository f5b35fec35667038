//! Unit tests of the Rebuttal channel on the fake backend.
