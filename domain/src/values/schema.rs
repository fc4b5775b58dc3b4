//! OpenAPI schemas of the value types (feature `openapi`), written by hand
//! because each type deserializes through its own `parse`: the schema states
//! the same limits `parse` enforces (lengths, patterns, ranges), so a client
//! reading the API document learns what will be refused before sending it.
//!
//! The limits come from the types' own constants wherever they exist, so the
//! document follows them when they change.

use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use super::MAX_AMOUNT_FEN;
use super::{BankCard, BasisPoints, Code, Fen, LongText, MobileNumber, OrgName, PersonName};
use super::{ResidentId, ShortText};

fn string(description: &str, max_chars: Option<usize>, pattern: Option<&str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .min_length(Some(1))
        .max_length(max_chars)
        .pattern(pattern)
        .into()
}

macro_rules! schema {
    ($t:ty, $body:expr) => {
        impl PartialSchema for $t {
            fn schema() -> RefOr<Schema> {
                $body
            }
        }
        impl ToSchema for $t {}
    };
}

schema!(
    Fen,
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(0))
        .description(Some(
            "金额，单位：分（整数，不可为负）。Money in fen (1/100 yuan): a non-negative integer; \
             fractions and negative amounts are refused. 150000 = 1,500.00 yuan.",
        ))
        .examples([150_000])
        .into()
);
/// The schema of a single input amount (`#[schema(schema_with = …)]` on
/// every field read with [`super::amount`]): [`Fen`]'s, with its maximum.
pub fn amount() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(0))
        .maximum(Some(MAX_AMOUNT_FEN))
        .description(Some(
            "金额，单位：分（整数，不可为负，单笔最多 10000000000 分 = 100,000,000.00 元）。\
             Money in fen (1/100 yuan): a non-negative integer, at most 10000000000 \
             (100,000,000.00 yuan) per amount; fractions, negative and larger amounts are \
             refused. 150000 = 1,500.00 yuan.",
        ))
        .examples([150_000])
        .into()
}

schema!(
    BasisPoints,
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
        .minimum(Some(0))
        .maximum(Some(BasisPoints::MAX))
        .description(Some(
            "比率，单位：基点。A rate in basis points: 10000 = 100%, 3000 = 30%.",
        ))
        .into()
);
schema!(
    ResidentId,
    string(
        "身份证号（18位，GB 11643 校验位）。Resident ID: 17 digits and a check character \
         (digit or X) per GB 11643; the birth date and province code must be real. \
         Personal data: masked in responses for roles that do not need it.",
        Some(18),
        Some("^[0-9]{17}[0-9Xx]$"),
    )
);
schema!(
    BankCard,
    string(
        "银行卡号（12–19位，Luhn 校验）。Bank card number: 12–19 digits (spaces and \
         hyphens ignored) with a valid Luhn check digit. Personal data: masked in \
         responses for roles that do not need it.",
        None,
        None,
    )
);
schema!(
    MobileNumber,
    string(
        "手机号（中国大陆11位）。Mainland mobile number: 11 digits starting 13–19; \
         spaces, hyphens and a +86 prefix are ignored. Personal data: masked in \
         responses for roles that do not need it.",
        None,
        None,
    )
);
schema!(
    PersonName,
    string("姓名。A person's name.", Some(PersonName::MAX_CHARS), None)
);
schema!(
    OrgName,
    string(
        "单位、工会、医院或组织名称。An organisation name.",
        Some(OrgName::MAX_CHARS),
        None
    )
);
schema!(
    ShortText,
    string(
        "单行短文本。Short single-line text.",
        Some(ShortText::MAX_CHARS),
        None
    )
);
schema!(
    LongText,
    string(
        "长文本，可多行。Long text, may span lines.",
        Some(LongText::MAX_CHARS),
        None
    )
);
schema!(
    Code,
    string(
        "编号：字母、数字及 . _ / -。An identifier-like code.",
        Some(Code::MAX_CHARS),
        Some("^[A-Za-z0-9._/-]+$"),
    )
);
