"""Target import through the API (multipart) and through S3 (presigned upload → ingest Lambda)."""

from __future__ import annotations

import io
from typing import Any

import boto3
import pytest
import requests

from shared.domain import cases
from shared.imports import ingest, pipeline
from shared.imports import rows as row_validation
from tests.integration.api.conftest import BUCKET, GOOD_CSV, Api, make_cpf


def test_import_keeps_the_good_rows_and_reports_each_bad_one(api: Api) -> None:
    campaign = api.create_campaign()
    csv_text = GOOD_CSV + (
        "Sem Telefone;;529.982.247-25;10,00;FAT-003;\n"
        "CPF Errado;(11) 98888-1111;111.444.777-36;10,00;FAT-004;\n"
        "Valor Zero;(11) 98888-2222;529.982.247-25;0,00;FAT-005;\n"
        "João Silva;(11) 99999-8888;111.444.777-35;R$ 179,80;FAT-001;10/02/2025\n"
    )
    response = api.import_csv(campaign["id"], csv_text)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["imported"] == 2
    assert body["duplicates"] == 1
    errors = {(e["line"], e["code"]) for e in body["errors"]}
    assert errors == {(4, "missing_value"), (5, "invalid_document"), (6, "invalid_amount"), (7, "duplicate")}
    job = api.get(f"/api/voice/imports/{body['importId']}").json()
    assert job["status"] == "completed"
    assert (job["totalRows"], job["imported"], job["duplicates"], job["rejected"]) == (6, 2, 1, 3)
    assert job["reportUrl"] == f"/api/voice/imports/{body['importId']}/report"


def test_rejected_rows_report_downloads_as_excel_friendly_csv(api: Api) -> None:
    campaign = api.create_campaign()
    body = api.import_csv(
        campaign["id"], GOOD_CSV + '=HYPERLINK("http://x");11 99999 0000;111.444.777-36;1;F9;\n'
    ).json()
    report = api.get(f"/api/voice/imports/{body['importId']}/report")
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/csv")
    assert "attachment" in report.headers["content-disposition"]
    text = report.content.decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0] == "line;field;code;message;value"
    assert lines[1].startswith("4;")
    assert ";=" not in text  # formula cells are neutralised, never re-exported as formulas


def test_reimporting_the_same_file_doubles_nothing(api: Api) -> None:
    campaign = api.create_campaign()
    first = api.import_csv(campaign["id"], GOOD_CSV).json()
    second = api.import_csv(campaign["id"], GOOD_CSV).json()
    assert (first["imported"], first["duplicates"]) == (2, 0)
    assert (second["imported"], second["duplicates"]) == (0, 2)
    assert {e["code"] for e in second["errors"]} == {"duplicate"}
    stats = api.get(f"/api/voice/campaigns/{campaign['id']}/stats").json()
    assert stats["totalTargets"] == 2
    assert stats["pending"] == 2


MARIA_ROWS = (
    "nome;telefone;cpf;valor;fatura;vencimento;ponto\n"
    "Maria Souza;(11) 3333-4444;529.982.247-25;89,90;F-1;10/01/2025;PT-1\n"
    "João Silva;(21) 98888-7777;111.444.777-35;50,00;J-1;10/01/2025;\n"
    "Maria Souza;(11) 99999-8888;529.982.247-25;89,90;F-2;10/02/2025;PT-1\n"
    "Maria Souza;(11) 99999-8888;529.982.247-25;100,20;F-3;10/03/2025;PT-2\n"
)


def test_a_customers_invoice_rows_fold_into_one_case(api: Api) -> None:
    campaign = api.create_campaign()

    body = api.import_csv(campaign["id"], MARIA_ROWS).json()

    assert (body["imported"], body["customersCreated"], body["customersUpdated"]) == (4, 2, 0)
    listed = api.get(f"/api/voice/campaigns/{campaign['id']}/targets").json()
    [maria] = [target for target in listed if target["clientName"] == "Maria Souza"]
    assert len(listed) == 2
    assert maria["invoices"] == [
        {"invoiceNumber": "F-1", "amount": "89.90", "dueDate": "2025-01-10", "installationPoint": "PT-1"},
        {"invoiceNumber": "F-2", "amount": "89.90", "dueDate": "2025-02-10", "installationPoint": "PT-1"},
        {"invoiceNumber": "F-3", "amount": "100.20", "dueDate": "2025-03-10", "installationPoint": "PT-2"},
    ]
    assert maria["debtAmount"] == "280.00" and maria["contactCount"] == 0
    assert maria["phoneNumber"].endswith("8888")  # the mobile, not the landline of the first row
    assert "invoiceNumber" not in maria and "installationPoint" not in maria
    stats = api.get(f"/api/voice/campaigns/{campaign['id']}/stats").json()
    assert stats["totalTargets"] == 2


def test_reimporting_adds_new_invoices_to_the_case_and_reports_the_known_ones(api: Api) -> None:
    campaign = api.create_campaign()
    api.import_csv(campaign["id"], MARIA_ROWS)

    again = api.import_csv(
        campaign["id"],
        "nome;telefone;cpf;valor;fatura;vencimento\n"
        "Maria Souza;(11) 99999-8888;529.982.247-25;89,90;F-2;10/02/2025\n"
        "Maria Souza;(11) 99999-8888;529.982.247-25;75,00;F-4;10/04/2025\n",
    ).json()

    assert (again["imported"], again["duplicates"]) == (1, 1)
    assert (again["customersCreated"], again["customersUpdated"]) == (0, 1)
    assert [(e["line"], e["code"]) for e in again["errors"]] == [(2, "duplicate")]
    listed = api.get(f"/api/voice/campaigns/{campaign['id']}/targets").json()
    [maria] = [target for target in listed if target["clientName"] == "Maria Souza"]
    assert [invoice["invoiceNumber"] for invoice in maria["invoices"]] == ["F-1", "F-2", "F-3", "F-4"]
    assert maria["debtAmount"] == "355.00"
    job = api.get(f"/api/voice/imports/{again['importId']}").json()
    assert (job["imported"], job["customersCreated"], job["customersUpdated"]) == (1, 0, 1)
    stats = api.get(f"/api/voice/campaigns/{campaign['id']}/stats").json()
    assert stats["totalTargets"] == 2
    # 280,00 (Maria) + 50,00 (João) at the first import; only F-4 (75,00) is new money the second time.
    assert (stats["amountInCollection"], stats["amountRecovered"], stats["recoveryRate"]) == (
        "405.00",
        "0.00",
        "0.0",
    )
    metrics = api.get("/api/voice/metrics").json()
    assert (metrics["amountInCollection"], metrics["amountPromised"], metrics["amountSelfCured"]) == (
        "405.00",
        "0.00",
        "0.00",
    )
    assert metrics["averageDaysToPay"] is None


def test_invoices_past_the_cap_of_a_case_are_rejected_row_by_row(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cases, "MAX_INVOICES_PER_CASE", 2)
    monkeypatch.setattr(pipeline, "MAX_INVOICES_PER_CASE", 2)
    campaign = api.create_campaign()

    body = api.import_csv(campaign["id"], MARIA_ROWS).json()

    assert (body["imported"], body["customersCreated"]) == (3, 2)
    assert [(e["line"], e["code"], e["field"]) for e in body["errors"]] == [
        (5, "too_many_invoices", "invoice_number")
    ]
    job = api.get(f"/api/voice/imports/{body['importId']}").json()
    assert (job["duplicates"], job["rejected"]) == (0, 1)


def test_a_duplicate_further_back_than_the_parser_remembers_is_still_not_doubled(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(row_validation, "DUPLICATE_WINDOW", 4)  # the parser remembers 4 to 8 recent rows
    campaign = api.create_campaign()
    header = "nome;telefone;cpf;valor;fatura;vencimento\n"
    rows = "".join(f"Cliente {n};(11) 9{n:08d};111.444.777-35;10,00;FAT-{n};\n" for n in range(10))
    body = api.import_csv(
        campaign["id"], header + rows + "Cliente 0;(11) 900000000;111.444.777-35;10,00;FAT-0;\n"
    ).json()
    assert (body["imported"], body["duplicates"]) == (10, 1)
    assert [(e["line"], e["code"], e["message"]) for e in body["errors"]] == [
        (12, "duplicate", "this customer already has this invoice in the campaign")
    ]


def test_the_report_is_written_batch_by_batch_in_line_order(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small batches and a small parser window, so the report is assembled from many parts and the
    # far duplicates come from the data layer, after the rows around them were rejected.
    monkeypatch.setattr(ingest, "WRITE_BATCH", 3)
    monkeypatch.setattr(pipeline, "ERRORS_IN_RESPONSE", 4)
    monkeypatch.setattr(row_validation, "DUPLICATE_WINDOW", 2)
    campaign = api.create_campaign()
    lines = ["nome;telefone;cpf;valor;fatura;vencimento"]
    expected: list[tuple[int, str]] = []
    for n in range(30):
        line = len(lines) + 1
        if n % 3 == 1:
            lines.append(f"Sem valor {n};(11) 9{n:08d};111.444.777-35;;F-{n};")
            expected.append((line, "missing_value"))
        elif n % 5 == 4:
            lines.append("Cliente 0;(11) 900000000;111.444.777-35;10,00;F-0;")  # line 2 again
            expected.append((line, "duplicate"))
        else:
            lines.append(f"Cliente {n};(11) 9{n:08d};111.444.777-35;10,00;F-{n};")
    body = api.import_csv(campaign["id"], "\n".join(lines) + "\n").json()
    assert [(e["line"], e["code"]) for e in body["errors"]] == expected[:4]
    job = api.get(f"/api/voice/imports/{body['importId']}").json()
    duplicates = sum(1 for _, code in expected if code == "duplicate")
    assert (job["totalRows"], job["duplicates"], job["rejected"]) == (
        30,
        duplicates,
        len(expected) - duplicates,
    )
    report = api.get(f"/api/voice/imports/{body['importId']}/report").content.decode("utf-8-sig")
    rows = [row.split(";") for row in report.strip().splitlines()]
    assert rows[0] == ["line", "field", "code", "message", "value"]
    assert [(int(row[0]), row[2]) for row in rows[1:]] == expected


@pytest.mark.parametrize(
    ("content", "filename", "status", "fragment"),
    [
        (b"", "vazio.csv", 422, "empty"),
        (b"nome;telefone;cpf;valor\n", "so-cabecalho.csv", 422, "no data rows"),
        (b"nome;email\nJoao;j@x.com\n", "colunas.csv", 422, "missing"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "boleto.pdf", 415, "save it as .xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "antigo.xls", 415, ".xlsx"),
        (b"PK\x03\x04truncated-zip", "quebrado.xlsx", 422, ""),
    ],
)
def test_unusable_files_get_a_precise_4xx(
    api: Api, content: bytes, filename: str, status: int, fragment: str
) -> None:
    campaign = api.create_campaign()
    files = {"file": (filename, io.BytesIO(content), "application/octet-stream")}
    response = api.post(f"/api/voice/campaigns/{campaign['id']}/targets/import", files=files)
    assert response.status_code == status, response.text
    assert fragment in response.json()["detail"]


def test_file_over_the_limit_is_413(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.core.config import reset_settings

    monkeypatch.setenv("MAX_UPLOAD_BYTES", "200")
    reset_settings()
    campaign = api.create_campaign()
    big = GOOD_CSV * 10
    response = api.import_csv(campaign["id"], big)
    assert response.status_code == 413
    assert "upload-url" in response.json()["detail"]


def test_import_without_a_file_is_422(api: Api) -> None:
    campaign = api.create_campaign()
    assert api.post(f"/api/voice/campaigns/{campaign['id']}/targets/import").status_code == 422


def test_import_into_unknown_or_completed_campaign(api: Api) -> None:
    assert api.import_csv("nope", GOOD_CSV).status_code == 404
    campaign = api.create_campaign()
    api.post(f"/api/voice/campaigns/{campaign['id']}/activate", role="supervisor")
    api.post(f"/api/voice/campaigns/{campaign['id']}/complete", role="supervisor")
    assert api.import_csv(campaign["id"], GOOD_CSV).status_code == 409


def _s3_event(key: str, size: int) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "sa-east-1",
                "eventTime": "2025-03-10T12:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:X"},
                "requestParameters": {"sourceIPAddress": "1.2.3.4"},
                "responseElements": {"x-amz-request-id": "r", "x-amz-id-2": "i"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "ingest",
                    "bucket": {
                        "name": BUCKET,
                        "ownerIdentity": {"principalId": "X"},
                        "arn": f"arn:aws:s3:::{BUCKET}",
                    },
                    "object": {"key": key, "size": size, "eTag": "e", "sequencer": "0"},
                },
            }
        ]
    }


class _Context:
    function_name = "ingest"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:sa-east-1:123456789012:function:ingest"
    aws_request_id = "req-1"


def test_large_files_go_through_a_presigned_upload_and_the_ingest_worker(api: Api) -> None:
    campaign = api.create_campaign()
    response = api.post(
        f"/api/voice/campaigns/{campaign['id']}/targets/upload-url",
        json={"filename": "clientes grandes.csv", "contentType": "text/csv"},
    )
    assert response.status_code == 200, response.text
    upload = response.json()
    assert upload["method"] == "PUT"
    assert upload["key"] == f"uploads/{campaign['id']}/{upload['importId']}/clientes_grandes.csv"
    assert upload["uploadUrl"].startswith("https://")
    rows = "".join(
        f"Cliente {i};(11) 9{i:04d}-{i:04d};{make_cpf(i + 1000)};{i},50;F{i};\n" for i in range(1, 301)
    )
    data = ("nome;telefone;cpf;valor;fatura;vencimento\n" + rows).encode()
    # moto intercepts `requests` (not httpx) on AWS URLs, as a browser PUT would reach S3.
    assert (
        requests.put(upload["uploadUrl"], data=data, headers=upload["headers"], timeout=10).status_code == 200
    )

    from functions.ingest.handler import handler

    result = handler(_s3_event(upload["key"].replace(" ", "+"), len(data)), _Context())
    assert result == {"imports": [{"importId": upload["importId"], "status": "completed", "imported": 300}]}
    job = api.get(f"/api/voice/imports/{upload['importId']}").json()
    assert (job["source"], job["imported"], job["rejected"]) == ("s3", 300, 0)
    # The same S3 event delivered again changes nothing.
    assert handler(_s3_event(upload["key"], len(data)), _Context())["imports"][0]["imported"] == 300
    assert api.get(f"/api/voice/campaigns/{campaign['id']}/stats").json()["totalTargets"] == 300


def test_ingest_records_a_failed_job_for_an_unusable_upload(api: Api) -> None:
    campaign = api.create_campaign()
    key = f"uploads/{campaign['id']}/IMPORT1/planilha.csv"
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"nome;email\nx;y\n")
    from functions.ingest.handler import handler

    result = handler(_s3_event(key, 15), _Context())
    assert result["imports"][0]["status"] == "failed"
    job = api.get("/api/voice/imports/IMPORT1").json()
    assert job["status"] == "failed"
    assert "missing" in job["failure"]


def test_upload_url_refuses_other_file_types(api: Api) -> None:
    campaign = api.create_campaign()
    response = api.post(
        f"/api/voice/campaigns/{campaign['id']}/targets/upload-url", json={"filename": "a.pdf"}
    )
    assert response.status_code == 415
