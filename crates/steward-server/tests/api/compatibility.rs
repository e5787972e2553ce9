//! docs/COMPATIBILITY.md matches the router, and every unbuilt spec endpoint answers 501.

use std::path::PathBuf;

use reqwest::Method;
use steward_server::compat::{SPEC_ENDPOINTS, compatibility_table, is_implemented};
use uuid::Uuid;

use crate::common::{assert_envelope, json, servers};

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/COMPATIBILITY.md")
}

#[test]
fn the_compatibility_table_matches_the_router() {
    let expected = compatibility_table(&steward_server::api_document());
    if std::env::var_os("STEWARD_BLESS").is_some() {
        std::fs::write(doc_path(), &expected).unwrap();
    }
    let actual = std::fs::read_to_string(doc_path()).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/COMPATIBILITY.md is out of date: run `cargo run -p steward -- compat-table > docs/COMPATIBILITY.md`"
    );
}

#[tokio::test]
async fn every_spec_endpoint_is_implemented_or_answers_501() {
    let document = steward_server::api_document();
    for s in servers().await {
        for e in SPEC_ENDPOINTS {
            let mut path = e.path.replace("{enterprise_id}", &s.enterprise.to_string());
            while let Some(start) = path.find('{') {
                let end = path[start..].find('}').unwrap() + start + 1;
                path.replace_range(start..end, &Uuid::new_v4().to_string());
            }
            let method = Method::from_bytes(e.method.as_bytes()).unwrap();
            let (status, body) = json(
                s.api(method, &path)
                    .json(&serde_json::json!({}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            if is_implemented(&document, e) {
                assert!(
                    status != 501 && status != 405,
                    "{} {path} is documented but answered {status}",
                    e.method
                );
            } else {
                assert_envelope(status, &body, 501);
            }
        }
        s.stop().await;
    }
}
