//! Placeholder, replaced by the gateway frontend.
pub fn main() -> i32 {
    eprintln!("stagecraft frontend: not built yet");
    1
}
