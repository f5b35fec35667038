//! Where `contextoption` and `windowinput` go. Upstream lets server plugins add context-menu
//! entries and custom windows; wcc offers none yet, so a selection is accepted and answered with
//! nothing. A deployment that adds menus answers here: whatever packets these return are sent
//! to the client that made the selection.

/// A context-menu entry was chosen: `context` (`user`, `room`, `message`, ...), the option's
/// id, and the value the client attached.
pub fn context_option(_user: &str, _context: &str, _option: &str, _value: &str) -> Vec<String> {
    Vec::new()
}

/// A value changed in a custom window the server presented.
pub fn window_input(_user: &str, _input: &str, _value: &str, _all_inputs: &str) -> Vec<String> {
    Vec::new()
}
