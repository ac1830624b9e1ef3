//! Unit tests of the reader: resolution, messages, quick sizes and the key list.

use super::schema::SCHEMA_KEYS;
use super::*;
use toml::Value;

/// A valid experiment (logcosh d = 3, two n, 10 trajectories), for tests to edit.
pub(crate) const GOOD: &str = r#"
name = "t"
seed = 1
[loss]
kind = "logcosh"
center = [1.0, -0.5, 0.25]
[start]
theta0 = [0.0, 0.0, 0.0]
[scaling]
rule = "corrected"
alpha = 1.0
a = 1.0
[reference]
drift = "limit"
[sweep]
n = [100, 1000]
trajectories = 10
"#;

fn err(src: &str) -> String {
    parse(src, Path::new("x.toml")).unwrap_err().to_string()
}

#[test]
fn good_file_resolves() {
    let e = parse(GOOD, Path::new("x.toml")).unwrap();
    assert_eq!(e.sweep.dim, vec![3]);
    assert_eq!(e.points().len(), 2);
    assert!((e.kappa(&e.points()[0]) - 2.0 / 3.0).abs() < 1e-15);
}

#[test]
fn errors_name_key_and_position() {
    let m = err(&GOOD.replace("trajectories = 10", "trajectoris = 10"));
    assert!(
        m.contains("x.toml:17:1")
            && m.contains("sweep.trajectoris")
            && m.contains("did you mean `sweep.trajectories`"),
        "{m}"
    );
    let m = err(&GOOD.replace("a = 1.0", "a = -1.0"));
    assert!(m.contains("scaling.a") && m.contains("positive"), "{m}");
    let m = err(&GOOD.replace("n = [100, 1000]", "n = []"));
    assert!(m.contains("sweep.n") && m.contains("empty"), "{m}");
    let m = err(&GOOD.replace("theta0 = [0.0, 0.0, 0.0]", "theta0 = [0.0, 0.0]"));
    assert!(
        m.contains("start.theta0") && m.contains("loss.center"),
        "{m}"
    );
    let m = err(&GOOD.replace("rule = \"corrected\"", "rule = \"paper\""));
    assert!(
        m.contains("reference.drift") && m.contains("grows without bound"),
        "{m}"
    );
    let m = err(&GOOD.replace("seed = 1", "seed = \"one\""));
    assert!(m.contains("key `seed`") && m.contains("the string"), "{m}");
    let m = err("name = \"t\"\nseed = = 1\n");
    assert!(m.contains("x.toml:2:") && m.contains("invalid TOML"), "{m}");
}

#[test]
fn quick_sizes_are_validated_too() {
    let with_claim =
        GOOD.to_string() + "[claim]\nslope = -1.0\ntolerance = 0.3\n[quick]\nn = [100, 1000]\n";
    let e = parse(
        &with_claim.replace(
            "n = [100, 1000]\ntrajectories",
            "n = [100, 300, 1000]\ntrajectories",
        ),
        Path::new("x.toml"),
    )
    .unwrap();
    let mut q = e.clone();
    let m = Overrides {
        quick: true,
        ..Overrides::default()
    }
    .apply(&mut q)
    .unwrap_err()
    .to_string();
    assert!(m.contains("quick.n") && m.contains("at least 3"), "{m}");
    let grid = GOOD.replace("rule = \"corrected\"", "rule = \"power\"")
        + "[grid]\nbeta = [0.0]\ngamma = [0.5]\n[quick]\ngamma = [0.25]\n";
    let mut e = parse(&grid, Path::new("x.toml")).unwrap();
    let m = Overrides {
        quick: true,
        ..Overrides::default()
    }
    .apply(&mut e)
    .unwrap_err()
    .to_string();
    assert!(
        m.contains("quick.gamma") && m.contains("drift limit"),
        "{m}"
    );
}

/// Every key of every shipped experiment file is on SCHEMA_KEYS (so the list cannot drift
/// from the schema unnoticed).
#[test]
fn schema_keys_cover_the_shipped_files() {
    fn walk(t: &toml::Table, out: &mut Vec<String>) {
        for (k, v) in t {
            out.push(k.clone());
            match v {
                Value::Table(t) => walk(t, out),
                Value::Array(a) => a.iter().for_each(|x| {
                    if let Value::Table(t) = x {
                        walk(t, out)
                    }
                }),
                _ => {}
            }
        }
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    for e in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        let mut keys = Vec::new();
        walk(&text.parse::<toml::Table>().unwrap(), &mut keys);
        for k in keys {
            assert!(
                SCHEMA_KEYS.contains(&k.as_str()),
                "{k} is not on SCHEMA_KEYS"
            );
        }
    }
}

/// A missing key is reported as missing, not as a misspelling of a valid neighbour; a
/// misspelt table is named as such.
#[test]
fn misspellings_and_missing_keys_are_told_apart() {
    let no_seed = GOOD.replace("seed = 1\n", "");
    let e = err(&no_seed);
    assert!(
        e.contains("missing key `seed`") || e.contains("`seed`"),
        "{e}"
    );
    assert!(!e.contains("unknown key `sweep`"), "{e}");
    let swep = GOOD.replace("[sweep]", "[swep]");
    let e = err(&swep);
    assert!(
        e.contains("unknown key `swep`") && e.contains("`sweep`"),
        "{e}"
    );
}

#[test]
fn geometric_grid_of_n() {
    let e = parse(
        &GOOD.replace(
            "n = [100, 1000]",
            "n = { from = 100, to = 10000, points = 5 }",
        ),
        Path::new("x.toml"),
    )
    .unwrap();
    assert_eq!(e.sweep.n, vec![100, 316, 1000, 3162, 10000]);
}

const LEARN: &str = r#"kind = "learning"
name = "l"
seed = 1
[data]
file = "d.csv"
label = "y"
[model]
kind = "logistic"
[scaling]
rule = "power"
alpha = 1e-85
a = 1.0
beta = 2.0
gamma = 0.0
[learning]
rules = ["stdp", "flow", "single-update"]
n = [100, 200, 400]
replicates = 2
kappa = 1.0
[quick]
n = [100000000]
"#;

fn learning(src: &str) -> Result<learning::LearningExperiment, String> {
    match parse_any(src, Path::new("l.toml")).map_err(|e| e.to_string())? {
        Spec::Learning(e) => Ok(*e),
        Spec::Convergence(_) => panic!("not a learning experiment"),
    }
}

/// The derived constants of a learning experiment are checked at the file's n, at the quick n
/// when --quick applies them, and for the kappa and alphas given directly.
#[test]
fn learning_derived_constants_stay_in_range() {
    let mut e = learning(LEARN).unwrap();
    let m = e.apply_quick().unwrap_err().to_string();
    assert!(
        m.contains("key `scaling.alpha`")
            && m.contains("alpha_n = ")
            && m.contains("e-102 at n = 100000000")
            && m.contains("fix:"),
        "{m}"
    );
    for (from, to, needle) in [
        (
            "alpha = 1e-85",
            "alpha = 1e200",
            "key `scaling.alpha`: gives alpha_n = 1e196",
        ),
        ("a = 1.0", "a = 1e200", "key `scaling.a`: gives A_n = 1e200"),
        ("kappa = 1.0", "kappa = 1e300", "key `learning.kappa`"),
        (
            "kappa = 1.0",
            "kappa = 1.0\nsingle_update_alpha = [1.0, 1e-300]",
            "key `learning.single_update_alpha`",
        ),
    ] {
        let m = learning(&LEARN.replace(from, to)).unwrap_err();
        assert!(m.contains(needle) && m.contains("[1e-100, 1e100]"), "{m}");
    }
}

#[test]
fn trajectories_inverse_in_dim() {
    let src = GOOD.replace("trajectories = 10", "trajectories = { times_dim = 100 }");
    let e = parse(&src, Path::new("x.toml")).unwrap();
    let p = e.points()[0];
    assert_eq!(p.dim, 3);
    assert_eq!(e.trajectories(&p), 34);
    let t = Trajectories::TimesDim { times_dim: 100 };
    assert_eq!((t.at(1), t.at(2), t.at(7), t.at(100)), (100, 50, 15, 1));
    assert_eq!(t.with_count(8), Trajectories::TimesDim { times_dim: 8 });
    assert_eq!(serde_json::to_string(&t).unwrap(), r#"{"times_dim":100}"#);
    assert_eq!(serde_json::to_string(&Trajectories::Fixed(7)).unwrap(), "7");
    // Too few at the largest dimension, a misspelt key, a wrong type: each named with its fix.
    let m = err(&GOOD.replace("trajectories = 10", "trajectories = { times_dim = 3 }"));
    assert!(
        m.contains("sweep.trajectories.times_dim") && m.contains("at least 4"),
        "{m}"
    );
    let m = err(&GOOD.replace("trajectories = 10", "trajectories = { time_dim = 400 }"));
    assert!(m.contains("time_dim") && m.contains("times_dim"), "{m}");
    let m = err(&GOOD.replace("trajectories = 10", "trajectories = \"many\""));
    assert!(
        m.contains("sweep.trajectories") && m.contains("times_dim"),
        "{m}"
    );
}

/// A constant claim's fit range counts: against n it selects the n of each dimension's fit (the
/// sup's fit needs three), against d it selects the dimensions (at least one).
#[test]
fn constant_claims_count_points_in_their_fit_range() {
    let sup = GOOD.replace("n = [100, 1000]", "n = [100, 316, 1000, 3162]")
        + "[claim]\nkind = \"constant\"\nmetric = \"sup_sq_error\"\ntolerance = 0.05\n";
    assert!(parse(&sup, Path::new("x.toml")).is_ok());
    assert!(parse(&(sup.clone() + "fit_from = 316\n"), Path::new("x.toml")).is_ok());
    let m = err(&(sup + "fit_from = 1000\n"));
    assert!(m.contains("sweep.n") && m.contains("has 2 values"), "{m}");
    let by_dim = GOOD
        .replace(
            "kind = \"logcosh\"\ncenter = [1.0, -0.5, 0.25]",
            "kind = \"logistic\"\nx = \"unit\"\ny = 1",
        )
        .replace("theta0 = [0.0, 0.0, 0.0]", "theta0 = 0.0")
        .replace("n = [100, 1000]", "dim = [2, 4]\nn = [100, 1000]")
        + "[claim]\nkind = \"constant\"\nmetric = \"terminal_sq_error\"\nagainst = \"dim\"\ntolerance = 0.05\n";
    assert!(parse(&(by_dim.clone() + "fit_from = 4\n"), Path::new("x.toml")).is_ok());
    let m = err(&(by_dim + "fit_from = 8\n"));
    assert!(m.contains("sweep.dim") && m.contains("has 0 values"), "{m}");
}
