//! An example body for every command, shown by `/openapi.json` (each
//! command route's request body `examples`) and `/docs`. Real, valid
//! bodies — the hardship-file ones are the ones README.md walks through —
//! and a test parses each through `input::parse_json`, the path every
//! command takes, so an example cannot drift from the types.

use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::OpenApi;

/// (command route, command name, body).
pub const EXAMPLES: &[(&str, &str, &str)] = &[
    (
        "/v1/hardship-files/{id}/commands",
        "OpenFile",
        r#"{"OpenFile": {"household": {"head": {"name": "陈建国", "resident_id": "350304197804123123", "phone": "13905941234", "employer_unit": "莆田市城厢区振兴鞋服有限公司", "grassroots_union": "莆田市城厢区振兴鞋服有限公司工会委员会", "migrant_worker": true, "mobile_member": false}, "members": [{"name": "林秀英", "relation": "spouse", "birth_year": 1980, "health": "serious_illness", "schooling": "none"}], "monthly_income_per_capita_fen": 62000, "local_minimum_standard_fen": 80000, "causes": ["illness"]}, "opened_on": "2026-03-02"}}"#,
    ),
    (
        "/v1/hardship-files/{id}/commands",
        "LogVisit",
        r#"{"LogVisit": {"visit_id": "V-1", "visited_on": "2026-03-05", "kind": "verification", "caseworkers": ["林晓梅"], "findings": "入户核查：收入、家庭成员与病历属实。", "facts_verified": ["income", "members", "medical_records"], "contact_card_issued": true, "cash_handover": null}}"#,
    ),
    (
        "/v1/hardship-files/{id}/commands",
        "Verify",
        r#"{"Verify": {"outcome": {"confirmed": {"note": "经入户核查情况属实"}}}}"#,
    ),
    (
        "/v1/hardship-files/{id}/commands",
        "AdoptPlan",
        r#"{"AdoptPlan": {"goal": "因病致困：减轻医疗负担", "measures": [{"measure_id": "M-1", "kind": "medical_relief", "description": "透析自付部分医疗救助", "planned_amount_fen": 800000, "fund": "special_assistance", "due_on": "2030-12-31"}]}}"#,
    ),
    (
        "/v1/hardship-files/{id}/commands",
        "RevisePlan",
        r#"{"RevisePlan": {"reason": "增加助学措施", "goal": "因病致困：减轻医疗负担，保障子女就学", "measures": [{"measure_id": "M-1", "kind": "medical_relief", "description": "透析自付部分医疗救助", "planned_amount_fen": 800000, "fund": "special_assistance", "due_on": "2030-12-31"}, {"measure_id": "M-2", "kind": "education_aid", "description": "金秋助学：高中学费", "planned_amount_fen": 300000, "fund": "donation", "due_on": "2030-09-15"}]}}"#,
    ),
    (
        "/v1/hardship-files/{id}/commands",
        "RequestGrant",
        r#"{"RequestGrant": {"grant_id": "G-1", "measure_id": "M-1", "amount_fen": 300000, "payee": "cash", "note": "第一季度透析自付费用"}}"#,
    ),
    (
        "/v1/hardship-files/{id}/commands",
        "ApproveGrant",
        r#"{"ApproveGrant": {"grant_id": "G-1"}}"#,
    ),
    (
        "/v1/hardship-files/{id}/commands",
        "DeclineGrant",
        r#"{"DeclineGrant": {"grant_id": "G-1", "reason": "与医保报销重复"}}"#,
    ),
    (
        "/v1/hardship-files/{id}/commands",
        "RecordGrantPaid",
        r#"{"RecordGrantPaid": {"grant_id": "G-1", "paid_on": "2026-03-27", "reference": "BOC-20260327-0001"}}"#,
    ),
    (
        "/v1/hardship-files/{id}/commands",
        "CompleteMeasure",
        r#"{"CompleteMeasure": {"measure_id": "M-1", "note": "医疗救助已足额发放"}}"#,
    ),
    (
        "/v1/hardship-files/{id}/commands",
        "RecordReview",
        r#"{"RecordReview": {"reviewed_on": "2026-10-20", "outcome": "lifted_out_recommended", "note": "收入已稳定高于低保标准，建议解困脱困", "next_review_on": "2027-04-20"}}"#,
    ),
    (
        "/v1/hardship-files/{id}/commands",
        "CloseFile",
        r#"{"CloseFile": {"reason": "lifted_out", "note": "经复核已解困脱困"}}"#,
    ),
    (
        "/v1/hardship-files/{id}/commands",
        "ReopenFile",
        r#"{"ReopenFile": {"reason": "户主失业，家庭再次陷入困难"}}"#,
    ),
    (
        "/v1/mutual-aid-plans/{id}/commands",
        "OpenPeriod",
        r#"{"OpenPeriod": {"name": "莆田市职工医疗互助第七期", "period_no": 7, "starts_on": "2026-01-01", "ends_on": "2026-12-31", "policy": {"version": "putian-07-v1", "threshold_fen": 500000, "tiers": [{"from_fen": 500000, "amount_fen": 20000}, {"from_fen": 1000000, "amount_fen": 40000}], "period_uplift_bp": 3000, "migrant_uplift_bp": 3000, "cap_per_member_fen": 600000}}}"#,
    ),
    (
        "/v1/mutual-aid-plans/{id}/commands",
        "EnrolUnit",
        r#"{"EnrolUnit": {"unit_id": "u-zhenxing", "unit_name": "莆田市城厢区振兴鞋服有限公司", "members": [{"resident_id": "350304197804123123", "name": "陈建国", "migrant_worker": true}], "contribution_fen": 4000, "paid_by": "unit"}}"#,
    ),
    (
        "/v1/mutual-aid-plans/{id}/commands",
        "AmendRoster",
        r#"{"AmendRoster": {"unit_id": "u-zhenxing", "add": [{"resident_id": "350304198509072460", "name": "林秀英", "migrant_worker": false}], "remove": [], "additional_contribution_fen": 4000, "reason": "新入职职工补充参保"}}"#,
    ),
    (
        "/v1/mutual-aid-plans/{id}/commands",
        "ClosePeriod",
        r#"{"ClosePeriod": {"note": "第七期结束，结余转入下期"}}"#,
    ),
    (
        "/v1/mutual-aid-claims/{id}/commands",
        "Submit",
        r#"{"Submit": {"claim_id": "CL-2026-0001", "plan_id": "MA-2026-07", "member": "350304197804123123", "member_name": "陈建国", "hospital": "莆田学院附属医院", "admitted_on": "2026-02-10", "discharged_on": "2026-02-24", "diagnosis": "急性心肌梗死，行冠脉支架植入术", "total_cost_fen": 3800000, "basic_insurance_fen": 2200000, "other_reimbursement_fen": 300000, "documents": ["住院费用发票", "出院小结", "费用明细清单"]}}"#,
    ),
    (
        "/v1/mutual-aid-claims/{id}/commands",
        "ReviewDocuments",
        r#"{"ReviewDocuments": {"complete": true, "note": "材料齐全"}}"#,
    ),
    (
        "/v1/mutual-aid-claims/{id}/commands",
        "Assess",
        r#"{"Assess": {}}"#,
    ),
    (
        "/v1/mutual-aid-claims/{id}/commands",
        "Approve",
        r#"{"Approve": {}}"#,
    ),
    (
        "/v1/mutual-aid-claims/{id}/commands",
        "Reject",
        r#"{"Reject": {"reason": "below_threshold", "note": "净自付未达起付线"}}"#,
    ),
    (
        "/v1/mutual-aid-claims/{id}/commands",
        "Appeal",
        r#"{"Appeal": {"grounds": "补充了遗漏的费用清单"}}"#,
    ),
    (
        "/v1/mutual-aid-claims/{id}/commands",
        "MarkPaid",
        r#"{"MarkPaid": {"paid_on": "2026-03-16", "reference": "HZ7-20260316-001", "card": null}}"#,
    ),
    (
        "/v1/donation-campaigns/{id}/commands",
        "Launch",
        r#"{"Launch": {"name": "2026年莆田市“一日捐”活动", "year": 2026, "co_issuers": ["中共莆田市委组织部"], "units": [{"unit_id": "d-zonggong", "name": "莆田市总工会机关", "headcount": 85}], "starts_on": "2026-04-01", "ends_on": "2026-06-30", "purpose": "general_fund"}}"#,
    ),
    (
        "/v1/donation-campaigns/{id}/commands",
        "RecordDonation",
        r#"{"RecordDonation": {"receipt_no": "R-0001", "unit_id": "d-zonggong", "donor": null, "donor_count": 82, "amount_fen": 410000, "channel": "bank_transfer", "donated_on": "2026-04-10"}}"#,
    ),
    (
        "/v1/donation-campaigns/{id}/commands",
        "ReverseDonation",
        r#"{"ReverseDonation": {"receipt_no": "R-0001", "reason": "同一笔汇款重复登记"}}"#,
    ),
    (
        "/v1/donation-campaigns/{id}/commands",
        "Close",
        r#"{"Close": {"note": "活动结束，款项全部到账"}}"#,
    ),
    (
        "/v1/donation-campaigns/{id}/commands",
        "ProposeAllocation",
        r#"{"ProposeAllocation": {"allocation_id": "A-1", "target": {"hardship_measure": {"file_id": "HF-2026-0001", "measure_id": "M-2"}}, "amount_fen": 300000, "note": "金秋助学"}}"#,
    ),
    (
        "/v1/donation-campaigns/{id}/commands",
        "ApproveAllocation",
        r#"{"ApproveAllocation": {"allocation_id": "A-1"}}"#,
    ),
    (
        "/v1/donation-campaigns/{id}/commands",
        "RejectAllocation",
        r#"{"RejectAllocation": {"allocation_id": "A-1", "reason": "该措施已由专项资金足额保障"}}"#,
    ),
    (
        "/v1/fund-accounts/{id}/commands",
        "Appropriate",
        r#"{"Appropriate": {"appropriation_id": "BK-2026-001", "fund": "special_assistance", "amount_fen": 5000000, "source": "福建省总工会", "received_on": "2026-01-05", "note": null}}"#,
    ),
    (
        "/v1/fund-accounts/{id}/commands",
        "ReverseAppropriation",
        r#"{"ReverseAppropriation": {"appropriation_id": "BK-2026-001", "reason": "银行退回，重新拨付"}}"#,
    ),
    (
        "/v1/payout-batches/{id}/commands",
        "Draft",
        r#"{"Draft": {"fund": "special_assistance", "lines": [{"payout_id": "grant:HF-2026-0001:G-1", "source": "grant", "payee": "陈建国", "account": {"bank": {"card": "6222021234567890128", "bank": "中国工商银行莆田分行"}}, "amount_fen": 300000, "fund": "special_assistance", "purpose": "第一季度透析自付费用"}], "signing": null, "note": "2026年3月帮扶资金代发"}}"#,
    ),
    (
        "/v1/payout-batches/{id}/commands",
        "Lock",
        r#"{"Lock": null}"#,
    ),
    (
        "/v1/payout-batches/{id}/commands",
        "Authorise",
        r#"{"Authorise": {"note": "同意发放"}}"#,
    ),
    (
        "/v1/payout-batches/{id}/commands",
        "Discard",
        r#"{"Discard": {"reason": "收款账户待核实，撤回重做"}}"#,
    ),
    (
        "/v1/payout-batches/{id}/commands",
        "RecordExport",
        r#"{"RecordExport": {"format": "csv_gbk", "template": "icbc", "sha256": "9f2c4e1b7a6d5c3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e", "lines": 1, "total_fen": 300000}}"#,
    ),
    (
        "/v1/payout-batches/{id}/commands",
        "RecordResults",
        r#"{"RecordResults": {"sha256": "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b", "results": [{"line": 1, "payout_id": "grant:HF-2026-0001:G-1", "account": "6222021234567890128", "amount_fen": 300000, "paid": true, "reason": null, "value_date": "2026-03-12"}]}}"#,
    ),
    (
        "/v1/payout-batches/{id}/commands",
        "Reissue",
        r#"{"Reissue": {"payout_id": "grant:HF-2026-0001:G-1", "account": {"bank": {"card": "6222021234567890128", "bank": "中国农业银行莆田分行"}}, "reason": "原卡已销户，改发新卡"}}"#,
    ),
    (
        "/v1/payout-batches/{id}/commands",
        "CancelPayout",
        r#"{"CancelPayout": {"payout_id": "grant:HF-2026-0001:G-1", "reason": "收款人放弃，资金退回基金"}}"#,
    ),
    (
        "/v1/payout-batches/{id}/commands",
        "Close",
        r#"{"Close": null}"#,
    ),
    (
        "/v1/accounting-periods/{id}/commands",
        "Close",
        r#"{"Close": {"month": "2026-03", "note": "2026年3月月结"}}"#,
    ),
];

/// Puts [`EXAMPLES`] into `openapi`: named examples on each command route's
/// JSON request body.
pub fn attach(openapi: &mut OpenApi) {
    for (path, name, body) in EXAMPLES {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(body) else {
            continue;
        };
        let content = openapi
            .paths
            .paths
            .get_mut(*path)
            .and_then(|item| item.post.as_mut())
            .and_then(|op| op.request_body.as_mut())
            .and_then(|body| body.content.get_mut("application/json"));
        if let Some(content) = content {
            let example = ExampleBuilder::new()
                .summary(*name)
                .value(Some(value))
                .build();
            content.examples.insert((*name).to_string(), example.into());
        }
    }
}
