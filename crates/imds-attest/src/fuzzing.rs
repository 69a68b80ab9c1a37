//! Entry points into the parsers for the fuzz targets in `fuzz/`. Behind the `fuzzing`
//! feature: not part of the supported API.

use time::OffsetDateTime;

use crate::claims::Claims;
use crate::cloud::Cloud;
use crate::cms::AttestedDocument;
use crate::error::Error;
use crate::signer::SignerCertificate;
use crate::trust::{chain, TrustStore};
use crate::{input, limits, signature};

/// Input detection and decoding to DER.
pub fn decode_input(data: &[u8]) -> Result<Vec<u8>, Error> {
    limits::check_size(data, limits::DEFAULT_MAX_INPUT_BYTES)?;
    input::decode(data).map(std::borrow::Cow::into_owned)
}

/// The claims JSON and its timestamps.
pub fn parse_claims(data: &[u8]) -> Result<Claims, Error> {
    Claims::parse(data)
}

/// A certificate as the signer-certificate code reads it (facts and DNS names).
pub fn signer_certificate(der: &[u8]) -> Result<Vec<String>, Error> {
    use der::Decode;
    let cert = x509_cert::Certificate::from_der(der).map_err(|e| Error::der("Certificate", e))?;
    Ok(SignerCertificate::new(cert, der.to_vec())?.dns_names)
}

/// The signature and chain checks alone, for the signer's cloud among all clouds: what the
/// differential target compares with OpenSSL's own PKCS#7 verification.
pub fn verify_signature_and_chain(
    doc: &AttestedDocument,
    trust: &TrustStore,
    at: OffsetDateTime,
) -> Result<(), Error> {
    let key = signature::SignerKey::new(doc)?;
    signature::verify(&doc.signed, &key, &doc.signer.subject())?;
    let cloud = doc
        .signer
        .dns_names
        .iter()
        .find_map(|name| Cloud::of_name(name, &Cloud::ALL))
        .ok_or_else(|| Error::SignerName {
            found: doc.signer.dns_names.clone(),
            allowed: Cloud::ALL.to_vec(),
        })?;
    chain::verify(trust, cloud, &doc.signer.der, &doc.other_certificates, at).map(|_| ())
}
