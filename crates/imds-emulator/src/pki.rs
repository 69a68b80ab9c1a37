//! The emulator's signing PKI: created in a folder on first start, reused after, rotated on
//! demand.
//!
//! `root.pem` and `intermediate.pem` are what a verifier trusts (`--root`, `--intermediate`);
//! the keys stay beside them so that a restarted emulator signs with the same chain. Each
//! issuing CA generation is kept (`issuing-<n>.pem`) so that its AIA URL keeps answering, and
//! `pki.json` records the chain's shape and the current generation.
//!
//! Leaves carry an Authority Information Access extension (RFC 5280 §4.2.2.1) naming their
//! issuer at `<aia base>/pki/issuing-<n>.cer`:
//!
//! ```text
//! AuthorityInfoAccessSyntax ::= SEQUENCE SIZE (1..MAX) OF AccessDescription
//! AccessDescription ::= SEQUENCE { accessMethod OBJECT IDENTIFIER, accessLocation GeneralName }
//! ```

use std::io::Write;
#[cfg(test)]
use std::os::unix::fs::PermissionsExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use imds_attest_testpki::{aia_extension, CertSpec, Issued};
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::error::ErrorStack;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509NameBuilder, X509};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::Cloud;

/// The shape of the signing chain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Chain {
    /// root -> issuing CA -> leaf, as IMDS signed until 2025.
    #[default]
    G1,
    /// root -> cross-signed intermediate root ("TLS RSA Root G2") -> issuing CA -> leaf, as
    /// the 2026 chains are.
    G2,
}

impl FromStr for Chain {
    type Err = String;

    fn from_str(s: &str) -> Result<Chain, String> {
        match s {
            "g1" => Ok(Chain::G1),
            "g2" => Ok(Chain::G2),
            other => Err(format!("unknown chain {other:?}; expected g1 or g2")),
        }
    }
}

/// The signing chain and where it lives.
pub struct Pki {
    /// The folder.
    pub dir: PathBuf,
    /// The document signer.
    pub leaf: Issued,
    chain: Chain,
    root: Issued,
    cross: Option<Issued>,
    issuing: Issued,
    generation: u32,
    leaf_spec: CertSpec,
    aia_base: String,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct State {
    chain: Chain,
    generation: u32,
}

impl Pki {
    /// Loads the PKI in `dir`, or creates one there (a root, for [`Chain::G2`] a cross-signed
    /// intermediate root, an issuing CA, and a leaf named for `cloud` in `region` whose AIA
    /// points under `aia_base`, e.g. `http://127.0.0.1:8080`). A leaf that has expired, is
    /// for another name, issuer or AIA URL is re-issued by the current CA; a folder of another
    /// chain shape, or from an emulator that kept no root key, is made afresh.
    pub fn open(
        dir: &Path,
        cloud: Cloud,
        region: &str,
        chain: Chain,
        aia_base: &str,
    ) -> Result<Pki, String> {
        // 0700: nobody else may read the keys, nor plant their own.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        check_private_dir(dir)?;
        keep_keys_private(dir)?;
        let now = OffsetDateTime::now_utc();
        let leaf_spec = leaf_spec(cloud, region, now);
        let existing = load(dir)
            .filter(|(state, ..)| state.chain == chain)
            .filter(|(_, _, cross, _)| cross.is_some() == (chain == Chain::G2));
        let (generation, root, cross, issuing) = match existing {
            Some((state, root, cross, issuing)) => (state.generation, root, cross, issuing),
            None => {
                let root = issue(&ca_spec("IMDS Emulator Test Root", now), None, None)
                    .map_err(|e| format!("cannot create the root: {e}"))?;
                save(dir, "root", &root)?;
                let cross = match chain {
                    Chain::G1 => None,
                    Chain::G2 => {
                        let cross = issue(
                            &ca_spec("IMDS Emulator TLS RSA Root G2", now),
                            Some(&root),
                            None,
                        )
                        .map_err(|e| format!("cannot create the cross-signed root: {e}"))?;
                        save(dir, "cross", &cross)?;
                        Some(cross)
                    }
                };
                let issuing = new_issuing(dir, chain, 1, cross.as_ref().unwrap_or(&root))?;
                (1, root, cross, issuing)
            }
        };
        let mut pki = Pki {
            dir: dir.to_path_buf(),
            leaf: issuing.clone(),
            chain,
            root,
            cross,
            issuing,
            generation,
            leaf_spec,
            aia_base: aia_base.trim_end_matches('/').to_owned(),
        };
        pki.write_state()?;
        pki.leaf = match pki.reusable_leaf() {
            Some(leaf) => leaf,
            None => pki.new_leaf()?,
        };
        Ok(pki)
    }

    /// Switches to a new issuing CA under the same root (or cross-signed root) and issues a
    /// new leaf from it; `intermediate.pem` then holds the new CA.
    pub fn rotate(&mut self) -> Result<(), String> {
        let generation = self.generation + 1;
        let parent = self.cross.as_ref().unwrap_or(&self.root);
        self.issuing = new_issuing(&self.dir, self.chain, generation, parent)?;
        self.generation = generation;
        self.write_state()?;
        self.leaf = self.new_leaf()?;
        Ok(())
    }

    /// The DER of the CA certificate named `name` (`root`, `cross`, `issuing-<n>` for any
    /// generation so far), as served at `/pki/<name>.cer`.
    pub fn ca_der(&self, name: &str) -> Option<Vec<u8>> {
        let cert = match name {
            "root" => self.root.cert.clone(),
            "cross" => self.cross.as_ref()?.cert.clone(),
            _ => {
                let n: u32 = name.strip_prefix("issuing-")?.parse().ok()?;
                if n == 0 || n > self.generation || name != format!("issuing-{n}") {
                    return None;
                }
                X509::from_pem(&std::fs::read(self.dir.join(format!("{name}.pem"))).ok()?).ok()?
            }
        };
        cert.to_der().ok()
    }

    /// The AIA URL of the current issuing CA.
    pub fn issuer_url(&self) -> String {
        format!("{}/pki/issuing-{}.cer", self.aia_base, self.generation)
    }

    /// The current issuing CA's subject CN.
    pub fn issuer_name(&self) -> String {
        self.issuing
            .cert
            .subject_name()
            .entries_by_nid(Nid::COMMONNAME)
            .next()
            .and_then(|e| e.data().to_string().ok())
            .unwrap_or_default()
    }

    fn new_leaf(&self) -> Result<Issued, String> {
        let leaf = issue(
            &self.leaf_spec,
            Some(&self.issuing),
            Some(&self.issuer_url()),
        )
        .map_err(|e| format!("cannot issue the signer: {e}"))?;
        save(&self.dir, "leaf", &leaf)?;
        Ok(leaf)
    }

    fn reusable_leaf(&self) -> Option<Issued> {
        let leaf = Issued::from_pem(
            &std::fs::read(self.dir.join("leaf.pem")).ok()?,
            &std::fs::read(self.dir.join("leaf.key.pem")).ok()?,
        )?;
        let names: Vec<String> = leaf
            .cert
            .subject_alt_names()?
            .iter()
            .filter_map(|n| n.dnsname().map(str::to_owned))
            .collect();
        let valid = leaf.cert.not_after() > Asn1Time::days_from_now(1).ok()?;
        let issued_here = leaf.cert.verify(&self.issuing.key).ok()?;
        let aia = ca_issuers(&leaf.cert);
        let wanted = Some(&names) == self.leaf_spec.san.as_ref()
            && aia.as_deref() == Some(self.issuer_url().as_str());
        (valid && issued_here && wanted).then_some(leaf)
    }

    fn write_state(&self) -> Result<(), String> {
        let state = State {
            chain: self.chain,
            generation: self.generation,
        };
        let json = serde_json::to_string(&state).map_err(|e| e.to_string())?;
        write(&self.dir, "pki.json", &json)?;
        let mut intermediates = String::new();
        if let Some(cross) = &self.cross {
            intermediates.push_str(&pem(&cross.cert)?);
        }
        intermediates.push_str(&pem(&self.issuing.cert)?);
        write(&self.dir, "intermediate.pem", &intermediates)
    }
}

/// The caIssuers URI of a certificate's AIA extension.
pub fn ca_issuers(cert: &X509) -> Option<String> {
    cert.authority_info()?
        .iter()
        .find(|d| d.method().nid() == Nid::AD_CA_ISSUERS)
        .and_then(|d| d.location().uri().map(str::to_owned))
}

type Loaded = (State, Issued, Option<Issued>, Issued);

fn load(dir: &Path) -> Option<Loaded> {
    let state: State = serde_json::from_slice(&std::fs::read(dir.join("pki.json")).ok()?).ok()?;
    let read = |name: &str| {
        Issued::from_pem(
            &std::fs::read(dir.join(format!("{name}.pem"))).ok()?,
            &std::fs::read(dir.join(format!("{name}.key.pem"))).ok()?,
        )
    };
    let cross = match state.chain {
        Chain::G1 => None,
        Chain::G2 => Some(read("cross")?),
    };
    let issuing = read(&format!("issuing-{}", state.generation))?;
    Some((state, read("root")?, cross, issuing))
}

fn new_issuing(
    dir: &Path,
    chain: Chain,
    generation: u32,
    parent: &Issued,
) -> Result<Issued, String> {
    let cn = match chain {
        Chain::G1 => format!("IMDS Emulator Issuing CA {generation}"),
        Chain::G2 => format!("IMDS Emulator TLS G2 RSA CA {generation:02}"),
    };
    let issuing = issue(&ca_spec(&cn, OffsetDateTime::now_utc()), Some(parent), None)
        .map_err(|e| format!("cannot create the issuing CA: {e}"))?;
    save(dir, &format!("issuing-{generation}"), &issuing)?;
    Ok(issuing)
}

fn ca_spec(cn: &str, now: OffsetDateTime) -> CertSpec {
    CertSpec {
        not_before: now - Duration::days(1),
        not_after: now + Duration::days(3650),
        ..CertSpec::ca(cn, 0)
    }
}

fn leaf_spec(cloud: Cloud, region: &str, now: OffsetDateTime) -> CertSpec {
    let domain = cloud.domain();
    CertSpec {
        cn: domain.into(),
        san: Some(vec![format!("{region}.{domain}"), domain.into()]),
        not_before: now - Duration::days(1),
        not_after: now + Duration::days(365),
        ..CertSpec::imds_leaf()
    }
}

/// A certificate made like the test PKI's ([`Issued::new`]), with a fresh key (an emulator's
/// PKI must share keys with nothing else), a random serial (generations made by different
/// processes must not collide), and an AIA caIssuers URL when given.
fn issue(
    spec: &CertSpec,
    issuer: Option<&Issued>,
    aia: Option<&str>,
) -> Result<Issued, ErrorStack> {
    let key: PKey<Private> = PKey::from_rsa(Rsa::generate(2048)?)?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "Microsoft Corporation")?;
    name.append_entry_by_nid(Nid::COMMONNAME, &spec.cn)?;
    let name = name.build();
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let serial = Asn1Integer::from_bn(&serial)?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(issuer.map_or(&*name, |i| i.cert.subject_name()))?;
    b.set_pubkey(&key)?;
    let not_before = Asn1Time::from_unix(spec.not_before.unix_timestamp())?;
    let not_after = Asn1Time::from_unix(spec.not_after.unix_timestamp())?;
    b.set_not_before(&not_before)?;
    b.set_not_after(&not_after)?;
    let mut bc = BasicConstraints::new();
    bc.critical();
    if spec.ca {
        bc.ca();
    }
    b.append_extension(bc.build()?)?;
    let mut ku = KeyUsage::new();
    ku.critical();
    if spec.ca {
        ku.key_cert_sign().crl_sign().digital_signature();
    } else {
        ku.digital_signature().key_encipherment();
    }
    b.append_extension(ku.build()?)?;
    if !spec.ca {
        b.append_extension(
            ExtendedKeyUsage::new()
                .server_auth()
                .client_auth()
                .build()?,
        )?;
    }
    let ski =
        SubjectKeyIdentifier::new().build(&b.x509v3_context(issuer.map(|i| &*i.cert), None))?;
    b.append_extension(ski)?;
    if let Some(issuer) = issuer {
        let aki = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(&b.x509v3_context(Some(&issuer.cert), None))?;
        b.append_extension(aki)?;
    }
    if let Some(names) = &spec.san {
        let mut san = SubjectAlternativeName::new();
        for n in names {
            san.dns(n);
        }
        let ext = san.build(&b.x509v3_context(None, None))?;
        b.append_extension(ext)?;
    }
    if let Some(url) = aia {
        b.append_extension(aia_extension(url)?)?;
    }
    b.sign(issuer.map_or(&key, |i| &i.key), (spec.hash)())?;
    Ok(Issued {
        cert: b.build(),
        key,
    })
}

fn pem(cert: &X509) -> Result<String, String> {
    cert.to_pem()
        .map_err(|e| e.to_string())
        .and_then(|p| String::from_utf8(p).map_err(|e| e.to_string()))
}

fn save(dir: &Path, stem: &str, issued: &Issued) -> Result<(), String> {
    write(dir, &format!("{stem}.pem"), &pem(&issued.cert)?)?;
    let key = issued
        .key
        .private_key_to_pem_pkcs8()
        .map_err(|e| e.to_string())
        .and_then(|p| String::from_utf8(p).map_err(|e| e.to_string()))?;
    write_private(&dir.join(format!("{stem}.key.pem")), key.as_bytes())
}

/// Writes a private key readable by its owner only: a new file created 0600 (an old one is
/// removed first, as opening it would keep its mode, and a planted symlink is not followed).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let failed = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(failed(e)),
        _ => {}
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(failed)?;
    file.write_all(bytes).map_err(failed)
}

/// Rewrites 0600 any key an older emulator left readable by others, as the folder is reused.
fn keep_keys_private(dir: &Path) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let is_key = path.to_string_lossy().ends_with(".key.pem");
        let shared = entry.metadata().is_ok_and(|m| m.mode() & 0o077 != 0);
        if is_key && shared {
            let bytes =
                std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            write_private(&path, &bytes)?;
        }
    }
    Ok(())
}

/// Refuses a PKI folder that another user owns or that group or others may write: either could
/// have planted the keys the emulator would then sign with (in `/tmp`, say).
fn check_private_dir(dir: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(format!(
            "refusing the PKI folder (--pki-dir) {}: it is owned by user {}, not by this user ({me}), who could plant its keys; use a folder of your own (a new one is created 0700)",
            dir.display(),
            meta.uid()
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(format!(
            "refusing the PKI folder (--pki-dir) {}: its mode {mode:04o} lets group or others write it, and so plant its keys; run chmod go-w on it or use a new folder (created 0700)",
            dir.display()
        ));
    }
    Ok(())
}

fn write(dir: &Path, name: &str, text: &str) -> Result<(), String> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_key_over_an_old_world_readable_file_is_written_0600() {
        let dir = imds_attest_testpki::temp::dir();
        let path = dir.path().join("leaf.key.pem");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, b"new").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }

    #[test]
    fn the_aia_extension_names_the_issuer_url_for_openssl() {
        let now = OffsetDateTime::now_utc();
        let root = issue(&ca_spec("r", now), None, None).unwrap();
        let url = "http://127.0.0.1:1/pki/issuing-1.cer";
        let leaf = issue(
            &leaf_spec(Cloud::Public, "eastus", now),
            Some(&root),
            Some(url),
        )
        .unwrap();
        assert_eq!(ca_issuers(&leaf.cert).as_deref(), Some(url));
        // A URL long enough for a two-byte length still encodes.
        let long = format!("http://127.0.0.1:1/pki/{}.cer", "x".repeat(300));
        let leaf = issue(
            &leaf_spec(Cloud::Public, "eastus", now),
            Some(&root),
            Some(&long),
        )
        .unwrap();
        assert_eq!(ca_issuers(&leaf.cert), Some(long));
    }
}
