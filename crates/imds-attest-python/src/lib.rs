//! The Python face of [imds-attest](https://docs.rs/imds-attest): the `imds_attest._native`
//! extension module behind the `imds_attest` package (`python/imds_attest/`).
//!
//! It converts arguments and results and nothing else: every verdict is the Rust
//! [`Verifier`]'s, and every rejection is raised as `imds_attest.Rejected` with the
//! [`ErrorKind`] name the CLI's JSON uses. The GIL is released while a document is verified.
//! Nothing here panics on input: a panic would reach Python as `PanicException`.
//!
//! Built with maturin (`pip install ./crates/imds-attest-python`); as a Rust crate it is only
//! built and linted with the workspace.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::sync::Arc;

use imds_attest::{Cloud, Error, ErrorKind, NonceCheck, VerifiedDocument, Verifier};
use imds_attest_setup::{PolicySettings, SetupError, TrustSources};
use imds_attest_store::{Challenges as StoreChallenges, StoreError, StoreErrorKind};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyString, PyTuple, PyType};
use time::OffsetDateTime;

/// The module: the classes, the functions and the kind names, which the package re-exports.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyVerifier>()?;
    m.add_class::<PyChallenges>()?;
    m.add_class::<PyVerifiedDocument>()?;
    m.add_class::<PyPlan>()?;
    m.add_class::<PySigner>()?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(bench_rust_warm, m)?)?;
    let kinds: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
    m.add("KINDS", PyTuple::new(m.py(), kinds)?)?;
    let config_kinds = [
        ErrorKind::TrustFile.as_str(),
        ErrorKind::RulesFile.as_str(),
        StoreErrorKind::StoreUrl.as_str(),
    ];
    m.add("CONFIG_KINDS", PyTuple::new(m.py(), config_kinds)?)?;
    // The version of the code that runs, whether or not the package's metadata is installed.
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

/// `imds_attest.verify(body, *, nonce=..., ...)`: a verifier built for one call.
#[pyfunction]
#[pyo3(signature = (
    body, *, nonce=None, challenges=None, dangerous_any_nonce=None, at=None, policy=None,
    clouds=None, skew=None, max_age=None, roots=None, intermediates=None
))]
#[allow(clippy::too_many_arguments)] // Python keyword arguments, not a Rust API
fn verify(
    py: Python<'_>,
    body: &Bound<'_, PyAny>,
    nonce: Option<&Bound<'_, PyAny>>,
    challenges: Option<&Bound<'_, PyAny>>,
    dangerous_any_nonce: Option<&Bound<'_, PyAny>>,
    at: Option<&Bound<'_, PyAny>>,
    policy: Option<&Bound<'_, PyAny>>,
    clouds: Option<&Bound<'_, PyAny>>,
    skew: Option<&Bound<'_, PyAny>>,
    max_age: Option<&Bound<'_, PyAny>>,
    roots: Option<&Bound<'_, PyAny>>,
    intermediates: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyVerifiedDocument> {
    let verifier = build_verifier(policy, clouds, skew, max_age, roots, intermediates)?;
    run_verify(
        py,
        &Arc::new(verifier),
        body,
        nonce,
        challenges,
        dangerous_any_nonce,
        at,
    )
}

/// `imds_attest.Verifier`: a trust store and a policy fixed once, reused across calls and
/// threads (it remembers the signers it proved).
#[pyclass(name = "Verifier", module = "imds_attest", frozen)]
struct PyVerifier {
    inner: Arc<Verifier>,
}

#[pymethods]
impl PyVerifier {
    #[new]
    #[pyo3(signature = (
        *, policy=None, clouds=None, skew=None, max_age=None, roots=None, intermediates=None
    ))]
    fn new(
        policy: Option<&Bound<'_, PyAny>>,
        clouds: Option<&Bound<'_, PyAny>>,
        skew: Option<&Bound<'_, PyAny>>,
        max_age: Option<&Bound<'_, PyAny>>,
        roots: Option<&Bound<'_, PyAny>>,
        intermediates: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let verifier = build_verifier(policy, clouds, skew, max_age, roots, intermediates)?;
        Ok(PyVerifier {
            inner: Arc::new(verifier),
        })
    }

    #[pyo3(signature = (body, *, nonce=None, challenges=None, dangerous_any_nonce=None, at=None))]
    fn verify(
        &self,
        py: Python<'_>,
        body: &Bound<'_, PyAny>,
        nonce: Option<&Bound<'_, PyAny>>,
        challenges: Option<&Bound<'_, PyAny>>,
        dangerous_any_nonce: Option<&Bound<'_, PyAny>>,
        at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyVerifiedDocument> {
        run_verify(
            py,
            &self.inner,
            body,
            nonce,
            challenges,
            dangerous_any_nonce,
            at,
        )
    }

    fn __repr__(&self) -> String {
        let policy = self.inner.policy();
        let clouds: Vec<String> = policy
            .clouds()
            .iter()
            .map(|c| repr(Some(c.name())))
            .collect();
        format!(
            "Verifier(clouds=[{}], skew={}, max_age={}, rules={})",
            clouds.join(", "),
            policy.skew().whole_seconds(),
            policy
                .max_age()
                .map_or("None".to_owned(), |a| a.whole_seconds().to_string()),
            if policy.rules().is_some() {
                "True"
            } else {
                "False"
            },
        )
    }
}

/// How long an issued nonce may be redeemed when `issue()` is given no `ttl`.
const DEFAULT_TTL_SECONDS: u64 = 300;

/// `imds_attest.Challenges(url)`: single-use nonces in a store (`memory:`, `sqlite:PATH`,
/// `redis://...`).
#[pyclass(name = "Challenges", module = "imds_attest", frozen)]
struct PyChallenges {
    inner: StoreChallenges,
    url: String,
}

#[pymethods]
impl PyChallenges {
    #[new]
    fn new(url: &Bound<'_, PyAny>) -> PyResult<Self> {
        let url: String = url
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err("url must be a str such as \"memory:\""))?
            .to_cow()?
            .into_owned();
        let store = imds_attest_store::open(&url).map_err(store_error)?;
        Ok(PyChallenges {
            inner: StoreChallenges::new(store),
            url,
        })
    }

    /// Issues a fresh nonce, valid for `ttl` seconds from now.
    #[pyo3(signature = (*, ttl=None))]
    fn issue(&self, py: Python<'_>, ttl: Option<&Bound<'_, PyAny>>) -> PyResult<String> {
        let ttl = match ttl.filter(|t| !t.is_none()) {
            Some(ttl) => seconds("ttl", ttl, 1)?,
            None => DEFAULT_TTL_SECONDS,
        };
        let now = imds_attest_setup::now();
        let challenges = self.inner.clone();
        py.detach(move || challenges.issue(std::time::Duration::from_secs(ttl), now))
            .map(|c| c.nonce)
            .map_err(store_error)
    }

    fn __repr__(&self) -> String {
        format!("Challenges({})", repr(Some(&self.inner.store().describe())))
    }

    #[getter]
    fn url(&self) -> &str {
        &self.url
    }
}

/// `imds_attest.VerifiedDocument`: what the verifier checked, read-only.
#[pyclass(name = "VerifiedDocument", module = "imds_attest", frozen)]
struct PyVerifiedDocument {
    inner: VerifiedDocument,
}

#[pymethods]
impl PyVerifiedDocument {
    #[getter]
    fn vm_id(&self) -> &str {
        &self.inner.claims().vm_id
    }
    #[getter]
    fn subscription_id(&self) -> Option<&str> {
        self.inner.claims().subscription_id.as_deref()
    }
    #[getter]
    fn sku(&self) -> Option<&str> {
        self.inner.claims().sku.as_deref()
    }
    #[getter]
    fn license_type(&self) -> Option<&str> {
        self.inner.claims().license_type.as_deref()
    }
    #[getter]
    fn plan(&self) -> Option<PyPlan> {
        self.inner.claims().plan.as_ref().map(|p| PyPlan {
            name: p.name.clone(),
            product: p.product.clone(),
            publisher: p.publisher.clone(),
        })
    }
    #[getter]
    fn nonce(&self) -> &str {
        &self.inner.claims().nonce
    }
    #[getter]
    fn nonce_checked(&self) -> bool {
        self.inner.nonce_checked()
    }
    #[getter]
    fn redeemed(&self) -> bool {
        self.inner.redeemed()
    }
    #[getter]
    fn created_on<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_datetime(py, self.inner.claims().created_on)
    }
    #[getter]
    fn expires_on<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_datetime(py, self.inner.claims().expires_on)
    }
    #[getter]
    fn cloud(&self) -> &'static str {
        self.inner.cloud().name()
    }
    #[getter]
    fn region(&self) -> Option<&str> {
        self.inner.region()
    }
    #[getter]
    fn rule(&self) -> Option<&str> {
        self.inner.rule()
    }
    #[getter]
    fn signer<'py>(&self, py: Python<'py>) -> PyResult<PySigner> {
        let s = self.inner.signer();
        Ok(PySigner {
            subject: s.subject.clone(),
            issuer: s.issuer.clone(),
            serial: s.serial.clone(),
            not_before: to_datetime(py, s.not_before)?.unbind(),
            not_after: to_datetime(py, s.not_after)?.unbind(),
            sha256: s.sha256.clone(),
            dns_names: s.dns_names.clone(),
        })
    }
    #[getter]
    fn chain(&self) -> Vec<String> {
        self.inner.chain().to_vec()
    }

    /// The CLI's `--json` object, as Python values.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let value = self
            .inner
            .to_json()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        // Through Python's json: the object is then exactly what `json.loads` of the CLI's
        // output gives.
        py.import("json")?
            .call_method1("loads", (value.to_string(),))
    }

    fn __repr__(&self) -> String {
        let c = self.inner.claims();
        format!(
            "VerifiedDocument(vm_id={}, cloud={}, region={}, nonce={}, rule={})",
            repr(Some(&c.vm_id)),
            repr(Some(self.inner.cloud().name())),
            repr(self.inner.region()),
            repr(Some(&c.nonce)),
            repr(self.inner.rule()),
        )
    }
}

/// `imds_attest.Plan`: the Marketplace plan.
#[pyclass(name = "Plan", module = "imds_attest", frozen, get_all, eq)]
#[derive(PartialEq)]
struct PyPlan {
    name: String,
    product: String,
    publisher: String,
}

#[pymethods]
impl PyPlan {
    fn __repr__(&self) -> String {
        format!(
            "Plan(name={}, product={}, publisher={})",
            repr(Some(&self.name)),
            repr(Some(&self.product)),
            repr(Some(&self.publisher))
        )
    }
}

/// `imds_attest.Signer`: the certificate that signed.
#[pyclass(name = "Signer", module = "imds_attest", frozen, get_all)]
struct PySigner {
    subject: String,
    issuer: String,
    serial: String,
    not_before: Py<PyAny>,
    not_after: Py<PyAny>,
    sha256: String,
    dns_names: Vec<String>,
}

#[pymethods]
impl PySigner {
    fn __repr__(&self) -> String {
        format!(
            "Signer(subject={}, serial={})",
            repr(Some(&self.subject)),
            repr(Some(&self.serial))
        )
    }
}

/// Undocumented on purpose in the package (it is for `bench.py`): verifies every
/// `(body, nonce, at)` case `rounds` times with `verifier`, in Rust with the GIL released, and
/// returns the seconds taken. Fails on the first rejection.
#[pyfunction]
#[pyo3(name = "_bench_rust_warm")]
fn bench_rust_warm(
    py: Python<'_>,
    verifier: &PyVerifier,
    cases: Vec<(Vec<u8>, String, Bound<'_, PyAny>)>,
    rounds: u32,
) -> PyResult<f64> {
    let cases: Vec<(Vec<u8>, String, OffsetDateTime)> = cases
        .into_iter()
        .map(|(body, nonce, at)| Ok((body, nonce, to_instant(&at)?)))
        .collect::<PyResult<_>>()?;
    let inner = Arc::clone(&verifier.inner);
    let result = py.detach(move || {
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            for (body, nonce, at) in &cases {
                inner.verify_bytes(body, NonceCheck::Exact(nonce), *at)?;
            }
        }
        Ok::<_, Error>(start.elapsed().as_secs_f64())
    });
    result.map_err(|e| rejected(py, &e))
}

/// A Python-style literal: `'text'` (single quotes, as Python's repr), or `None`.
fn repr(s: Option<&str>) -> String {
    match s {
        None => "None".to_owned(),
        Some(s) => format!("'{}'", s.escape_default().to_string().replace("\\\"", "\"")),
    }
}

/// The shared body of `verify()` and `Verifier.verify`: arguments converted with the GIL
/// held, the verification without it.
fn run_verify(
    py: Python<'_>,
    verifier: &Arc<Verifier>,
    body: &Bound<'_, PyAny>,
    nonce: Option<&Bound<'_, PyAny>>,
    challenges: Option<&Bound<'_, PyAny>>,
    dangerous_any_nonce: Option<&Bound<'_, PyAny>>,
    at: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyVerifiedDocument> {
    let body = body_bytes(body)?;
    let mode = nonce_mode(nonce, challenges, dangerous_any_nonce)?;
    let at = match at {
        Some(at) if !at.is_none() => to_instant(at)?,
        _ => imds_attest_setup::now(),
    };
    let verifier = Arc::clone(verifier);
    let result = py.detach(move || {
        let check = match &mode {
            Mode::Exact(n) => NonceCheck::Exact(n),
            Mode::Redeem(c) => NonceCheck::Redeem(c),
            Mode::AnyNonce => NonceCheck::DangerousAnyNonce,
        };
        verifier.verify_bytes(&body, check, at)
    });
    match result {
        Ok(inner) => Ok(PyVerifiedDocument { inner }),
        Err(e) => Err(rejected(py, &e)),
    }
}

/// The nonce check asked for, owned so that it can cross into the GIL-free section.
enum Mode {
    Exact(String),
    Redeem(StoreChallenges),
    AnyNonce,
}

fn nonce_mode(
    nonce: Option<&Bound<'_, PyAny>>,
    challenges: Option<&Bound<'_, PyAny>>,
    dangerous_any_nonce: Option<&Bound<'_, PyAny>>,
) -> PyResult<Mode> {
    let nonce = nonce.filter(|n| !n.is_none());
    let challenges = challenges.filter(|c| !c.is_none());
    let any = match dangerous_any_nonce.filter(|a| !a.is_none()) {
        None => false,
        Some(a) => a
            .cast::<pyo3::types::PyBool>()
            .map_err(|_| PyTypeError::new_err("dangerous_any_nonce must be True or False"))?
            .is_true(),
    };
    match (nonce, challenges, any) {
        (Some(n), None, false) => {
            let n = n
                .cast::<PyString>()
                .map_err(|_| PyTypeError::new_err("nonce must be a str"))?;
            let n = n.to_cow()?;
            let n = imds_attest::expected_nonce(&n).map_err(|_| {
                PyValueError::new_err(
                    "the nonce is empty; give the nonce the document must carry, \
                     or dangerous_any_nonce=True to skip the check",
                )
            })?;
            Ok(Mode::Exact(n.to_owned()))
        }
        (None, Some(c), false) => {
            let c = c.cast::<PyChallenges>().map_err(|_| {
                PyTypeError::new_err("challenges must be an imds_attest.Challenges")
            })?;
            Ok(Mode::Redeem(c.get().inner.clone()))
        }
        (None, None, true) => Ok(Mode::AnyNonce),
        _ => Err(PyValueError::new_err(
            "give exactly one of nonce=..., challenges=... or dangerous_any_nonce=True",
        )),
    }
}

fn build_verifier(
    policy: Option<&Bound<'_, PyAny>>,
    clouds: Option<&Bound<'_, PyAny>>,
    skew: Option<&Bound<'_, PyAny>>,
    max_age: Option<&Bound<'_, PyAny>>,
    roots: Option<&Bound<'_, PyAny>>,
    intermediates: Option<&Bound<'_, PyAny>>,
) -> PyResult<Verifier> {
    let trust = TrustSources {
        roots: path_list("roots", roots)?
            .into_iter()
            .map(PathBuf::from)
            .collect(),
        intermediates: path_list("intermediates", intermediates)?
            .into_iter()
            .map(PathBuf::from)
            .collect(),
        ..TrustSources::default()
    }
    .build()
    .map_err(setup_error)?;
    let rules = match policy.filter(|p| !p.is_none()) {
        Some(path) => {
            let path = PathBuf::from(path_arg("policy", path)?);
            Some(imds_attest_setup::load_rules(&path).map_err(setup_error)?)
        }
        None => None,
    };
    let skew = match skew.filter(|s| !s.is_none()) {
        Some(skew) => Some(duration(seconds("skew", skew, 0)?)),
        None => None,
    };
    let clouds = match clouds.filter(|c| !c.is_none()) {
        Some(clouds) => cloud_list(clouds)?,
        None => Vec::new(),
    };
    let max_age = match max_age.filter(|a| !a.is_none()) {
        Some(max_age) => Some(duration(seconds("max_age", max_age, 0)?)),
        None => None,
    };
    let policy = PolicySettings {
        rules,
        clouds,
        skew,
        max_age,
    }
    .build();
    Ok(Verifier::new(trust, policy))
}

fn body_bytes(body: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = body.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = body.cast::<PyString>() {
        return Ok(s.to_cow()?.as_bytes().to_vec());
    }
    Err(PyTypeError::new_err(
        "body must be bytes or str (the IMDS response, base64, PEM or DER)",
    ))
}

/// A whole, non-negative number of seconds, at least `min`, at most `u32::MAX` (as the CLI).
fn seconds(name: &str, value: &Bound<'_, PyAny>, min: u64) -> PyResult<u64> {
    if value.is_instance_of::<pyo3::types::PyBool>()
        || !value.is_instance_of::<pyo3::types::PyInt>()
    {
        return Err(PyTypeError::new_err(format!(
            "{name} must be an int (seconds)"
        )));
    }
    let out_of_range = || {
        PyValueError::new_err(format!(
            "{name} must be between {min} and {} seconds",
            u32::MAX
        ))
    };
    let n: i64 = value.extract().map_err(|_| out_of_range())?;
    u64::try_from(n)
        .ok()
        .filter(|n| *n >= min && *n <= u64::from(u32::MAX))
        .ok_or_else(out_of_range)
}

fn duration(seconds: u64) -> time::Duration {
    // At most u32::MAX, checked by `seconds`.
    time::Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX))
}

fn cloud_list(clouds: &Bound<'_, PyAny>) -> PyResult<Vec<Cloud>> {
    strings("clouds", clouds)?
        .iter()
        .map(|c| c.parse::<Cloud>().map_err(PyValueError::new_err))
        .collect()
}

fn path_list(name: &str, value: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<String>> {
    match value.filter(|v| !v.is_none()) {
        None => Ok(Vec::new()),
        Some(v) => {
            if v.is_instance_of::<PyString>() {
                return Err(PyTypeError::new_err(format!(
                    "{name} must be a list of paths, not one str"
                )));
            }
            v.try_iter()
                .map_err(|_| PyTypeError::new_err(format!("{name} must be a list of paths")))?
                .map(|item| path_arg(name, &item?))
                .collect()
        }
    }
}

fn strings(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if value.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be a list of str, not one str"
        )));
    }
    value
        .try_iter()
        .map_err(|_| PyTypeError::new_err(format!("{name} must be a list of str")))?
        .map(|item| {
            let item = item?;
            let s = item
                .cast::<PyString>()
                .map_err(|_| PyTypeError::new_err(format!("{name} must be a list of str")))?;
            Ok(s.to_cow()?.into_owned())
        })
        .collect()
}

/// A `str` or `os.PathLike` path, as text.
fn path_arg(name: &str, value: &Bound<'_, PyAny>) -> PyResult<String> {
    let fspath = value
        .py()
        .import("os")?
        .call_method1("fspath", (value,))
        .map_err(|_| PyTypeError::new_err(format!("{name}: a path is a str or os.PathLike")))?;
    let s = fspath
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("{name}: a path is a str, not bytes")))?;
    Ok(s.to_cow()?.into_owned())
}

/// An aware `datetime` as an instant; a naive one is a `ValueError`.
fn to_instant(at: &Bound<'_, PyAny>) -> PyResult<OffsetDateTime> {
    static DATETIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let datetime = DATETIME.import(at.py(), "datetime", "datetime")?;
    if !at.is_instance(datetime)? {
        return Err(PyTypeError::new_err("at must be a datetime.datetime"));
    }
    if at.call_method0("utcoffset")?.is_none() {
        return Err(PyValueError::new_err(
            "at is a naive datetime: give it a timezone (tzinfo=datetime.timezone.utc)",
        ));
    }
    // timestamp() is a float: exact to the second over datetime's whole range once its
    // microseconds, read exactly, are taken off.
    let timestamp: f64 = at.call_method0("timestamp")?.extract()?;
    let micros: u32 = at.getattr("microsecond")?.extract()?;
    let seconds = (timestamp - f64::from(micros) / 1e6).round();
    let out_of_range = || PyValueError::new_err(format!("at is out of range: {at}"));
    if !(-1e12..=1e12).contains(&seconds) {
        return Err(out_of_range());
    }
    #[allow(clippy::cast_possible_truncation)] // within ±1e12, checked above
    let seconds = seconds as i64;
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.checked_add(time::Duration::microseconds(i64::from(micros))))
        .ok_or_else(out_of_range)
}

/// An instant as an aware UTC `datetime`.
fn to_datetime(py: Python<'_>, t: OffsetDateTime) -> PyResult<Bound<'_, PyAny>> {
    let t = t.to_offset(time::UtcOffset::UTC);
    let utc = py.import("datetime")?.getattr("timezone")?.getattr("utc")?;
    py.import("datetime")?.getattr("datetime")?.call1((
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond(),
        utc,
    ))
}

/// A verifier's rejection as `imds_attest.Rejected` (or `StoreUnavailable`), kind and message.
fn rejected(py: Python<'_>, e: &Error) -> PyErr {
    exception(py, e.kind(), &e.to_string())
}

/// A store's failure: a URL the store does not accept is `imds_attest.ConfigError` (kind
/// `store_url`, a `ValueError`), a bad TTL a `ValueError`; the rest is `StoreUnavailable`, as a
/// verification through that store would say.
fn store_error(e: StoreError) -> PyErr {
    Python::attach(|py| match e.kind() {
        StoreErrorKind::StoreUrl => instance(py, "ConfigError", e.kind().as_str(), &e.to_string()),
        _ if matches!(e, StoreError::Expiry { .. }) => PyValueError::new_err(e.to_string()),
        _ => exception(py, ErrorKind::StoreUnavailable, &e.to_string()),
    })
}

/// A trust or rules file that cannot be used: `imds_attest.ConfigError` (a `ValueError`) with
/// the kind every face gives it, `UnreadableFile` (also an `OSError`) when it cannot be read.
fn setup_error(e: SetupError) -> PyErr {
    let class = match e {
        SetupError::Unreadable { .. } => "UnreadableFile",
        _ => "ConfigError",
    };
    Python::attach(|py| instance(py, class, e.kind().as_str(), &e.to_string()))
}

fn exception(py: Python<'_>, kind: ErrorKind, message: &str) -> PyErr {
    let class = if kind == ErrorKind::StoreUnavailable {
        "StoreUnavailable"
    } else {
        "Rejected"
    };
    instance(py, class, kind.as_str(), message)
}

/// An instance of the package's exception `class`, made with its kind and message.
fn instance(py: Python<'_>, class: &str, kind: &str, message: &str) -> PyErr {
    let made = py
        .import("imds_attest")
        .and_then(|m| m.getattr(class))
        .and_then(|c| c.call1((kind, message)));
    match made {
        Ok(instance) => PyErr::from_value(instance),
        Err(e) => e,
    }
}
