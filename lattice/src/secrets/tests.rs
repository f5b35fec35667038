//! Unit tests of the launcher's secrets: generated once, kept private, reused; a caller's var
//! wins; `render` needs a chosen token; the manifest carries only the token's hash.

use super::*;

fn var<'a>(vars: &'a HashMap<String, String>, name: &str) -> &'a str {
    vars.get(name).map(String::as_str).unwrap_or_default()
}

fn is_secret(text: &str) -> bool {
    text.len() == 2 * SECRET_BYTES && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn generated_once_and_reused() {
    let state = tempfile::tempdir().unwrap();
    let mut first = HashMap::new();
    let sources = fill(&mut first, state.path()).unwrap();
    assert_eq!(
        sources,
        Sources {
            admin_token: Some(admin_token_path(state.path())),
            subscription_key: Some(subscription_key_path(state.path())),
        }
    );
    let token = var(&first, ADMIN_TOKEN);
    let key = var(&first, SUBSCRIPTION_KEY);
    assert!(is_secret(token) && is_secret(key), "{token} {key}");
    assert_ne!(token, key);
    assert_eq!(var(&first, ADMIN_TOKEN_SHA256), sha256_hex(token));

    let mut again = HashMap::new();
    fill(&mut again, state.path()).unwrap();
    assert_eq!(first, again);
    assert_eq!(
        fs::read_to_string(admin_token_path(state.path())).unwrap(),
        token
    );
}

#[test]
fn files_are_private() {
    let state = tempfile::tempdir().unwrap();
    fill(&mut HashMap::new(), state.path()).unwrap();
    assert_eq!(mode(&dir(state.path())), 0o700);
    assert_eq!(mode(&admin_token_path(state.path())), 0o600);
    assert_eq!(mode(&subscription_key_path(state.path())), 0o600);
    // Nothing else is left behind in the folder.
    assert_eq!(fs::read_dir(dir(state.path())).unwrap().count(), 2);
}

#[test]
fn a_loosened_file_is_tightened_and_still_used() {
    let state = tempfile::tempdir().unwrap();
    let path = admin_token_path(state.path());
    let token = load_or_create(&path).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(dir(state.path()), fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(load_or_create(&path).unwrap(), token);
    assert_eq!((mode(&path), mode(&dir(state.path()))), (0o600, 0o700));
}

#[test]
fn an_explicit_var_wins_and_writes_no_file() {
    let state = tempfile::tempdir().unwrap();
    let mut vars = HashMap::from([
        (ADMIN_TOKEN.to_string(), "chosen".to_string()),
        (SUBSCRIPTION_KEY.to_string(), "k".repeat(64)),
    ]);
    assert_eq!(fill(&mut vars, state.path()).unwrap(), Sources::default());
    assert_eq!(var(&vars, ADMIN_TOKEN), "chosen");
    assert_eq!(var(&vars, SUBSCRIPTION_KEY), "k".repeat(64));
    assert_eq!(var(&vars, ADMIN_TOKEN_SHA256), sha256_hex("chosen"));
    assert!(!dir(state.path()).exists());

    // Only the token given: the key still comes from its file.
    let mut vars = HashMap::from([(ADMIN_TOKEN.to_string(), "chosen".to_string())]);
    let sources = fill(&mut vars, state.path()).unwrap();
    assert_eq!(sources.admin_token, None);
    assert!(sources.subscription_key.is_some());
    assert!(!admin_token_path(state.path()).exists());
}

#[test]
fn an_empty_token_is_refused() {
    let state = tempfile::tempdir().unwrap();
    let mut vars = HashMap::from([(ADMIN_TOKEN.to_string(), String::new())]);
    assert!(fill(&mut vars, state.path()).is_err());
    assert!(fill_for_render(&mut vars).is_err());
    // An empty file is not an empty token either.
    let path = admin_token_path(state.path());
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, "\n").unwrap();
    assert!(fill(&mut HashMap::new(), state.path()).is_err());
}

#[test]
fn render_refuses_without_a_token() {
    let err = fill_for_render(&mut HashMap::new()).unwrap_err();
    assert!(err.to_string().contains("--var WCC_ADMIN_TOKEN="), "{err}");

    let mut vars = HashMap::from([(ADMIN_TOKEN.to_string(), "chosen".to_string())]);
    fill_for_render(&mut vars).unwrap();
    assert_eq!(var(&vars, ADMIN_TOKEN_SHA256), sha256_hex("chosen"));
    assert!(is_secret(var(&vars, SUBSCRIPTION_KEY)));

    // A key passed in is kept; every render without one gets a fresh one.
    let mut given = vars.clone();
    fill_for_render(&mut given).unwrap();
    assert_eq!(var(&given, SUBSCRIPTION_KEY), var(&vars, SUBSCRIPTION_KEY));
    let mut fresh = HashMap::from([(ADMIN_TOKEN.to_string(), "chosen".to_string())]);
    fill_for_render(&mut fresh).unwrap();
    assert_ne!(var(&fresh, SUBSCRIPTION_KEY), var(&vars, SUBSCRIPTION_KEY));
}

#[test]
fn the_manifest_carries_the_hash_and_the_key_but_never_the_token() {
    let template = include_str!("../../../wadm.yaml");
    let mut vars = HashMap::from([
        ("WCC_ARTIFACTS".to_string(), "/a".to_string()),
        ("WCC_NATS_URL".to_string(), "nats://n:4222".to_string()),
    ]);
    // No defaults: without the secrets the manifest does not render.
    let err = crate::manifest::render(template, &vars).unwrap_err();
    assert!(err.to_string().contains(ADMIN_TOKEN_SHA256), "{err}");
    let mut hash_only = vars.clone();
    hash_only.insert(ADMIN_TOKEN_SHA256.into(), sha256_hex("t"));
    let err = crate::manifest::render(template, &hash_only).unwrap_err();
    assert!(err.to_string().contains(SUBSCRIPTION_KEY), "{err}");

    let state = tempfile::tempdir().unwrap();
    fill(&mut vars, state.path()).unwrap();
    let yaml = crate::manifest::render(template, &vars).unwrap();
    let (token, key) = (var(&vars, ADMIN_TOKEN), var(&vars, SUBSCRIPTION_KEY));
    assert!(!yaml.contains(token));
    assert!(!yaml.contains("wcc-dev-admin-token"));
    let hash_line = format!("admin_token_sha256: \"{}\"", sha256_hex(token));
    // The rooms actor (admin API) and the operators' console feed.
    assert_eq!(yaml.matches(&hash_line).count(), 2);
    // The rooms actor and the gateway.
    let key_line = format!("subscription_key: \"{key}\"");
    assert_eq!(yaml.matches(&key_line).count(), 2);
}

#[test]
fn a_client_takes_the_given_token_or_the_file() {
    let state = tempfile::tempdir().unwrap();
    let err = client_admin_token(None, state.path()).unwrap_err();
    assert!(err.to_string().contains("--token"), "{err}");
    assert_eq!(
        client_admin_token(Some("t".into()), state.path()).unwrap(),
        "t"
    );
    let token = load_or_create(&admin_token_path(state.path())).unwrap();
    assert_eq!(client_admin_token(None, state.path()).unwrap(), token);
    assert_eq!(
        client_admin_token(Some(String::new()), state.path()).unwrap(),
        token
    );
}

#[test]
fn sha256_is_lowercase_hex() {
    assert_eq!(
        sha256_hex("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}
