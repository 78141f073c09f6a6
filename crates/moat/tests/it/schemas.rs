//! The documents other tools parse are checked against their published JSON schemas
//! (committed under `tests/schemas/`, resolved offline): `moat scan --format sarif`
//! against SARIF 2.1.0, `moat bom` against CycloneDX 1.6 (with its SPDX and JSF
//! sub-schemas).

use super::Moat;

fn schema(name: &str) -> serde_json::Value {
    let p = format!("{}/tests/schemas/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn assert_valid(validator: &jsonschema::Validator, doc: &serde_json::Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} is not valid:\n{}",
        errors.join("\n")
    );
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let validator = jsonschema::options()
        .offline()
        .build(&schema("sarif-schema-2.1.0.json"))
        .unwrap();
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../moat-scan/tests/data");
    let m = Moat::new();
    // Every fixture at once: findings of every rule, in raw files and archive members.
    let o = m.run(&["scan", data, "--format", "sarif"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let doc: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert!(doc["runs"][0]["results"].as_array().unwrap().len() > 30);
    assert_valid(&validator, &doc, "SARIF of the fixtures");
    // And a clean scan.
    let o = m.run(&[
        "scan",
        &format!("{data}/ordinary.onnx"),
        "--format",
        "sarif",
    ]);
    assert_eq!(o.code, 0);
    assert_valid(
        &validator,
        &serde_json::from_str(&o.stdout).unwrap(),
        "a clean SARIF",
    );
    // The validator is not a rubber stamp.
    let mut broken: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    broken["version"] = "2.0".into();
    assert!(!validator.is_valid(&broken));
}

fn cyclonedx() -> jsonschema::Validator {
    let registry = jsonschema::Registry::new()
        .add(
            "http://cyclonedx.org/schema/spdx.schema.json",
            schema("spdx.schema.json"),
        )
        .unwrap()
        .add(
            "http://cyclonedx.org/schema/jsf-0.82.schema.json",
            schema("jsf-0.82.schema.json"),
        )
        .unwrap()
        .prepare()
        .unwrap();
    jsonschema::options()
        .offline()
        .with_registry(&registry)
        .build(&schema("bom-1.6.schema.json"))
        .unwrap()
}

#[test]
fn bom_of_a_folder_and_of_a_registered_version_are_valid_cyclonedx_1_6() {
    let validator = cyclonedx();
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../moat-scan/tests/data");
    let m = Moat::new();
    std::fs::create_dir_all(m.path("model")).unwrap();
    m.write(
        "model/README.md",
        b"---\nlicense: apache-2.0\ndatasets:\n- reviews\npipeline_tag: text-classification\nbase_model: tiny-base\n---\n# Sentiment\nClassifies product reviews.\n",
    );
    m.write(
        "model/config.json",
        br#"{"architectures":["TinyForSequenceClassification"],"model_type":"tiny"}"#,
    );
    std::fs::copy(
        format!("{data}/malicious_checkpoint.bin"),
        m.path("model/pytorch_model.bin"),
    )
    .unwrap();
    let bom = m.json(&["bom", "model"]);
    assert_valid(&validator, &bom, "the BOM of a folder");
    let model = &bom["components"][0];
    assert_eq!(model["type"], "machine-learning-model");
    assert_eq!(
        model["modelCard"]["modelParameters"]["task"],
        "text-classification"
    );
    assert_eq!(
        model["modelCard"]["modelParameters"]["modelArchitecture"],
        "TinyForSequenceClassification"
    );
    assert_eq!(model["components"].as_array().unwrap().len(), 3);
    assert_eq!(bom["components"][1]["type"], "data");
    assert_eq!(bom["components"][1]["name"], "reviews");
    let vulns = bom["vulnerabilities"].as_array().unwrap();
    assert!(vulns.iter().any(|v| v["id"] == "moat-scan:dangerous-global"
        && v["ratings"][0]["severity"] == "critical"
        && v["affects"][0]["ref"]
            .as_str()
            .unwrap()
            .ends_with("file:pytorch_model.bin")));

    // A registered version: lineage from the inventory, scan from its evidence.
    m.ok(&["init"]);
    m.write("train.csv", b"a,b\n1,2\n");
    m.ok(&[
        "dataset",
        "register",
        "reviews",
        "--version",
        "1",
        "--path",
        "train.csv",
        "--owner",
        "o",
        "--sensitivity",
        "confidential",
        "--source",
        "internal",
    ]);
    std::fs::remove_file(m.path("model/pytorch_model.bin")).unwrap();
    m.ok(&[
        "model",
        "register",
        "sentiment",
        "--version",
        "3",
        "--artifact",
        "model",
        "--dataset",
        "reviews@1",
        "--owner",
        "o",
        "--tier",
        "high",
        "--sensitivity",
        "internal",
    ]);
    m.ok(&["bom", "sentiment@3", "-o", "bom.json"]);
    let bom: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(m.path("bom.json")).unwrap()).unwrap();
    assert_valid(&validator, &bom, "the BOM of a registered version");
    assert_eq!(bom["components"][0]["version"], "3");
    assert_eq!(bom["components"][1]["bom-ref"], "dataset:reviews@1");
    assert_eq!(
        bom["components"][1]["data"][0]["classification"],
        "confidential"
    );
    assert_eq!(bom["dependencies"][0]["dependsOn"][0], "dataset:reviews@1");
    assert!(bom["components"][0]["properties"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "moat:risk-tier" && p["value"] == "high"));
    // The schema is not a rubber stamp.
    let mut broken = bom.clone();
    broken["components"][0]["type"] = "neural-net".into();
    assert!(!validator.is_valid(&broken));
}
