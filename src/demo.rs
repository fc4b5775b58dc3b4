//! `bangfu demo` (being written).
use crate::app::App;
use crate::cli::Failure;
use domain::i18n::Lang;
/// Loads the demo scenario.
pub async fn run(_app: &App, _lang: Lang, _out: &mut dyn std::io::Write) -> Result<(), Failure> {
    Ok(())
}
