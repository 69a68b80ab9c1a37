//! The config file's `[store] url`: a relative `sqlite:` path is beside the config file, as
//! every other path in it is, whatever the service's working directory.
#![allow(clippy::unwrap_used, clippy::panic)]

use imds_attest_service::Config;
use imds_attest_testpki::temp;

fn store_url(dir: &std::path::Path, url: &str) -> String {
    let file = dir.join("serve.toml");
    std::fs::write(&file, format!("[store]\nurl = {url:?}\n")).unwrap();
    match Config::load(&file) {
        Ok(config) => config.store_url,
        Err(e) => panic!("{url}: {e}"),
    }
}

#[test]
fn a_relative_sqlite_path_is_beside_the_config_file() {
    let dir = temp::dir();
    let db = dir.path().join("state.db");
    assert_eq!(
        store_url(dir.path(), "sqlite:state.db?sync=full"),
        format!("sqlite:{}?sync=full", db.display())
    );
    assert!(
        db.is_file(),
        "checking the store creates it beside the config file"
    );
}

#[test]
fn an_absolute_sqlite_path_and_other_stores_are_as_written() {
    let dir = temp::dir();
    let absolute = format!("sqlite:{}", dir.path().join("elsewhere.db").display());
    assert_eq!(store_url(dir.path(), &absolute), absolute);
    assert_eq!(store_url(dir.path(), "memory:"), "memory:");
}
