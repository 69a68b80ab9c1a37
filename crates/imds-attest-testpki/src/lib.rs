//! Test PKI (filled in by the next commit).
