//! Contract service adjustments: a signed change of units from an effective date. As the
//! real API does, an adjustment for a service not yet on the contract adds it; the billed
//! units per period (ContractServiceUnits) follow.

use crate::error::ApiError;
use crate::schema::CONTRACT_RECURRING;
use crate::store::{parse_datetime, Record, Tenant};
use serde_json::{json, Value};

/// Validates an adjustment, creates the contract service if needed, updates the units of
/// every period that ends after the effective date, and completes the adjustment record.
pub fn apply_adjustment(tenant: &mut Tenant, adjustment: &mut Record) -> Result<(), ApiError> {
    let contract_id = adjustment.get("contractID").and_then(Value::as_i64).unwrap_or_default();
    let contract = tenant
        .get("Contracts", contract_id)
        .cloned()
        .ok_or_else(|| ApiError::server("Reference value on field: contractID of type: Contract does not exist or is invalid."))?;
    if contract.get("contractType").and_then(Value::as_i64) != Some(CONTRACT_RECURRING) {
        return Err(ApiError::server("Service adjustments can only be made to Recurring Service contracts."));
    }
    let effective = adjustment
        .get("effectiveDate")
        .and_then(Value::as_str)
        .and_then(parse_datetime)
        .ok_or_else(|| ApiError::server("effectiveDate is required.; on record number [0]."))?;
    let change = adjustment.get("unitChange").and_then(Value::as_i64).unwrap_or_default();
    let contract_service_id = adjustment.get("contractServiceID").and_then(Value::as_i64);
    let (cs_id, service_id) = match contract_service_id {
        Some(cs_id) => {
            let cs = tenant.get("ContractServices", cs_id).filter(|cs| cs.get("contractID").and_then(Value::as_i64) == Some(contract_id));
            let cs = cs.ok_or_else(|| {
                ApiError::server("Reference value on field: contractServiceID of type: ContractService does not exist or is invalid.")
            })?;
            (cs_id, cs.get("serviceID").and_then(Value::as_i64).unwrap_or_default())
        }
        None => {
            let service_id = adjustment
                .get("serviceID")
                .and_then(Value::as_i64)
                .ok_or_else(|| ApiError::server("serviceID or contractServiceID is required.; on record number [0]."))?;
            let service = tenant
                .get("Services", service_id)
                .cloned()
                .ok_or_else(|| ApiError::server("Reference value on field: serviceID of type: Service does not exist or is invalid."))?;
            let existing = tenant
                .children("ContractServices", "contractID", contract_id)
                .into_iter()
                .find(|id| tenant.get("ContractServices", *id).and_then(|cs| cs.get("serviceID")).and_then(Value::as_i64) == Some(service_id));
            let cs_id = match existing {
                Some(id) => id,
                None => {
                    let price =
                        adjustment.get("adjustedUnitPrice").cloned().unwrap_or_else(|| service.get("unitPrice").cloned().unwrap_or(Value::from(0)));
                    let mut cs = Record::new();
                    cs.insert("contractID".into(), Value::from(contract_id));
                    cs.insert("serviceID".into(), Value::from(service_id));
                    cs.insert("unitPrice".into(), price);
                    cs.insert("invoiceDescription".into(), service.get("name").cloned().unwrap_or(Value::Null));
                    tenant.insert("ContractServices", cs)
                }
            };
            (cs_id, service_id)
        }
    };
    // Periods of this contract service.
    let periods: Vec<(i64, Value)> = tenant
        .children("ContractServiceUnits", "contractServiceID", cs_id)
        .into_iter()
        .filter_map(|id| tenant.get("ContractServiceUnits", id).map(|u| (id, u.get("endDate").cloned().unwrap_or(Value::Null))))
        .collect();
    let affected: Vec<i64> =
        periods.iter().filter(|(_, end)| end.as_str().and_then(parse_datetime).is_none_or(|end| end > effective)).map(|(id, _)| *id).collect();
    for id in &affected {
        let units = tenant.get("ContractServiceUnits", *id).and_then(|u| u.get("units")).and_then(Value::as_i64).unwrap_or_default();
        if units + change < 0 {
            return Err(ApiError::server(format!("The unit change of {change} would make the number of units negative ({units} + {change}).")));
        }
    }
    let price = tenant.get("ContractServices", cs_id).and_then(|cs| cs.get("unitPrice")).and_then(Value::as_f64).unwrap_or_default();
    for id in &affected {
        if let Some(row) = tenant.table("ContractServiceUnits").rows.get_mut(id) {
            let units = row.get("units").and_then(Value::as_i64).unwrap_or_default() + change;
            row.insert("units".into(), Value::from(units));
            row.insert("price".into(), Value::from(price * units as f64));
        }
    }
    if periods.is_empty() {
        if change < 0 {
            return Err(ApiError::server(format!("The unit change of {change} would make the number of units negative (0 + {change}).")));
        }
        use chrono::Datelike;
        let (mut y, mut m) = (effective.year(), effective.month());
        for _ in 0..24 {
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            let row = json!({
                "contractID": contract_id, "contractServiceID": cs_id, "serviceID": service_id,
                "startDate": format!("{y:04}-{m:02}-01T00:00:00Z"), "endDate": format!("{ny:04}-{nm:02}-01T00:00:00Z"),
                "units": change, "price": price * change as f64, "cost": 0.0,
            });
            if let Value::Object(map) = row {
                tenant.insert("ContractServiceUnits", map);
            }
            (y, m) = (ny, nm);
        }
    }
    adjustment.insert("contractServiceID".into(), Value::from(cs_id));
    adjustment.insert("serviceID".into(), Value::from(service_id));
    Ok(())
}
