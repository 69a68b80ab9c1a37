//! Every resource and strength limit of the verifier, in one place (the modules that enforce
//! them, and the error messages that name them, read them from here).

/// The largest input accepted by default, in bytes. Genuine documents are about 3 KB in any
/// form.
pub const DEFAULT_MAX_INPUT_BYTES: usize = 64 * 1024;

/// The deepest nesting of constructed values accepted (genuine documents reach 10).
pub const MAX_DER_DEPTH: usize = 32;

/// The most elements one constructed value may hold (in genuine documents, at most 12).
pub const MAX_DER_ELEMENTS: usize = 64;

/// The most certificates a document may embed. IMDS embeds one; Azure's longest chain has
/// two intermediates. Each carried certificate costs a decoding (about 160 us with OpenSSL 3):
/// at 16, the worst document within the limits cost 9.9 times a genuine one (`--bench hostile`).
pub const MAX_EMBEDDED_CERTIFICATES: usize = 8;

/// The least RSA modulus accepted for a signer, in bits.
pub const MIN_RSA_BITS: u32 = 2048;

/// The largest RSA modulus accepted for a signer, in bits: a larger key costs the verifier far
/// more than a genuine (RSA-2048) signer, before any chain is checked.
pub const MAX_RSA_BITS: u32 = 4096;

/// The largest RSA public exponent accepted for a signer: 2^32 - 1. A genuine signer's is
/// 65537.
pub const MAX_RSA_EXPONENT: u64 = u32::MAX as u64;

/// The most intermediates a chain may have. Azure's longest (2026, G2) has two.
pub const MAX_INTERMEDIATES: i32 = 4;
