//! Names spliced into trigger SQL, which cannot take bind parameters.

use sea_orm_migration::prelude::DbErr;

/// Refuses any name that is not a plain identifier (letters, digits, `_`): it goes into SQL text.
pub(crate) fn plain_identifiers(names: &[&str]) -> Result<(), DbErr> {
    for name in names {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(DbErr::Custom(format!(
                "`{name}`: table, column and channel names must be plain identifiers (letters, digits, _)"
            )));
        }
    }
    Ok(())
}
