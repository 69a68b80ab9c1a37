//! Entry points into the parsers for the fuzz targets in `fuzz/`. Compiled only under
//! `cfg(fuzzing)` (which cargo-fuzz sets): not part of the supported API.

use time::OffsetDateTime;

use crate::claims::Claims;
use crate::cloud::Cloud;
use crate::cms::AttestedDocument;
use crate::error::Error;
use crate::signer::SignerCertificate;
use crate::trust::{chain, TrustStore};
use crate::{input, tlv};

/// Input detection and decoding to DER.
pub fn decode_input(data: &[u8]) -> Result<Vec<u8>, Error> {
    input::to_der(data, tlv::DEFAULT_MAX_INPUT_BYTES).map(std::borrow::Cow::into_owned)
}

/// The claims JSON and its timestamps.
pub fn parse_claims(data: &[u8]) -> Result<Claims, Error> {
    Claims::parse(data)
}

/// A certificate as the signer-certificate code reads it (DNS names, then the profile).
pub fn signer_certificate(der: &[u8]) -> Result<Vec<String>, Error> {
    use der::Decode;
    let cert = x509_cert::Certificate::from_der(der).map_err(|e| Error::der("Certificate", e))?;
    let signer = SignerCertificate::new(cert, der.to_vec())?;
    signer.check_profile()?;
    Ok(signer.dns_names)
}

/// The signature, signer and chain checks alone, for the signer's cloud among all clouds, in
/// the production order and with the production cloud selection: what the differential
/// target compares with OpenSSL's own PKCS#7 verification.
pub fn verify_signature_and_chain(
    doc: &AttestedDocument,
    trust: &TrustStore,
    at: OffsetDateTime,
) -> Result<(), Error> {
    let (_, cloud) = crate::verify::check_signer(doc, &Cloud::ALL)?;
    chain::verify(trust, cloud, &doc.signer.der, &doc.other_certificates, at).map(|_| ())
}
