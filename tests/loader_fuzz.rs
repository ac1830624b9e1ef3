//! The experiment loader never panics: arbitrary text and mutated valid files give either a valid
//! experiment or an error naming the file.

use proptest::prelude::*;
use std::path::Path;
use stdp_flow::experiment::parse;

const GOOD: &str = include_str!("../experiments/theorem1-corrected.toml");

fn check(src: &str) {
    match parse(src, Path::new("fuzz.toml")) {
        Ok(e) => {
            assert!(!e.sweep.n.is_empty() && e.points().iter().all(|p| e.trajectories(p) >= 2));
            assert!(!e.points().is_empty());
        }
        Err(err) => assert!(err.to_string().contains("fuzz.toml"), "{err}"),
    }
}

fn tokens() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("-1".to_string()),
        Just("0".to_string()),
        Just("1e400".to_string()),
        Just("nan".to_string()),
        Just("\"unit\"".to_string()),
        Just("[]".to_string()),
        Just("[1.0, \"x\"]".to_string()),
        Just("{ from = 10, to = 5, points = 3 }".to_string()),
        Just("{ from = 2, to = 1000000000, points = 100 }".to_string()),
        Just("true".to_string()),
        Just("\"power\"".to_string()),
        Just("é".to_string()),
        "[a-z_]{1,12}".prop_map(|s| s),
        any::<i64>().prop_map(|i| i.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_text(src in "\\PC{0,300}") {
        check(&src);
    }

    #[test]
    fn mutated_values(line in 0usize..40, value in tokens()) {
        let lines: Vec<&str> = GOOD.lines().collect();
        let k = line % lines.len();
        let mutated: Vec<String> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| match (i == k, l.split_once('=')) {
                (true, Some((key, _))) => format!("{key}= {value}"),
                _ => l.to_string(),
            })
            .collect();
        check(&mutated.join("\n"));
    }

    #[test]
    fn deleted_and_inserted_lines(del in 0usize..40, ins in 0usize..40, key in "[a-z_]{1,12}", value in tokens()) {
        let mut lines: Vec<String> = GOOD.lines().map(str::to_string).collect();
        let d = del % lines.len();
        lines.remove(d);
        let i = ins % (lines.len() + 1);
        lines.insert(i, format!("{key} = {value}"));
        check(&lines.join("\n"));
    }
}
