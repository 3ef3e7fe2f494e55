"""Planted private values of every category the privacy promise names, and the parts that must not survive."""

from __future__ import annotations

import base64
import random
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Planted:
    """One value to put into a message, its category, and the substrings that count as a leak."""

    category: str
    text: str
    private: tuple[str, ...]


def _key(rng: random.Random, size: int) -> str:
    return base64.b64encode(rng.randbytes(size)).decode()


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def planted_values(rng: random.Random, n: int) -> list[Planted]:
    """`n` planted values, categories in round robin, each value fresh."""
    makers = [_email, _upn, _guid_value, _jwt, _aws, _github, _storage_key, _sas, _connection_string,
              _url_credentials, _url_query, _posix_path, _mac_path, _windows_path, _arm_id, _resource_name]
    return [makers[i % len(makers)](rng, i) for i in range(n)]


def _email(rng: random.Random, i: int) -> Planted:
    return Planted("email", f"jane.doe{i}@contoso.com", ("jane", "contoso"))


def _upn(rng: random.Random, i: int) -> Planted:
    return Planted("email", f"ajohnson{i}@fabrikam.onmicrosoft.com", ("ajohnson", "fabrikam"))


def _guid_value(rng: random.Random, i: int) -> Planted:
    guid = _guid(rng)
    return Planted("guid", guid, (guid[:8], guid[-12:]))


def _jwt(rng: random.Random, i: int) -> Planted:
    parts = [base64.urlsafe_b64encode(rng.randbytes(24)).decode().rstrip("=") for _ in range(3)]
    token = "eyJhbGciOiJSUzI1NiJ9." + parts[1] + "." + parts[2]
    return Planted("secret", token, (parts[1][:12], parts[2][:12]))


def _aws(rng: random.Random, i: int) -> Planted:
    key = "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
    return Planted("secret", key, (key[4:],))


def _github(rng: random.Random, i: int) -> Planted:
    token = "ghp_" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(36))
    return Planted("secret", token, (token[4:20],))


def _storage_key(rng: random.Random, i: int) -> Planted:
    key = _key(rng, 64)
    return Planted("secret", key, (key[:16], key[30:46]))


def _sas(rng: random.Random, i: int) -> Planted:
    sig = _key(rng, 32).replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    return Planted("secret", f"sv=2022-11-02&ss=b&srt=sco&sp=rl&sig={sig}", (sig[:12],))


def _connection_string(rng: random.Random, i: int) -> Planted:
    key = _key(rng, 64)
    text = f"DefaultEndpointsProtocol=https;AccountName=contosodata{i};AccountKey={key};EndpointSuffix=core.windows.net"
    return Planted("secret", text, (key[:16], "contosodata"))


def _url_credentials(rng: random.Random, i: int) -> Planted:
    return Planted("url", f"postgresql://pgadmin{i}:S3cr3t-Pg!pw{i}@contoso-pg.postgres.database.azure.com/app",
                   ("pgadmin", "S3cr3t", "contoso"))


def _url_query(rng: random.Random, i: int) -> Planted:
    sig = _key(rng, 32)
    return Planted("url", f"https://contosohr{i}.blob.core.windows.net/payroll/jan.csv?sv=2022-11-02&sig={sig}",
                   ("contosohr", sig[:12]))


def _posix_path(rng: random.Random, i: int) -> Planted:
    return Planted("path", f"/home/jane/contoso-app-{i}/prototype.yaml", ("jane", "contoso"))


def _mac_path(rng: random.Random, i: int) -> Planted:
    return Planted("path", f"/Users/ajohnson/My Projects/fabrikam-{i}/main.bicep", ("ajohnson", "fabrikam"))


def _windows_path(rng: random.Random, i: int) -> Planted:
    return Planted("path", f"C:\\Users\\jdoe\\Documents\\contoso-{i}\\infra.bicep", ("jdoe", "contoso"))


def _arm_id(rng: random.Random, i: int) -> Planted:
    guid = _guid(rng)
    text = f"/subscriptions/{guid}/resourceGroups/contoso-rg-{i:03d}/providers/Microsoft.Web/sites/contoso-hr-api-{i:03d}"
    return Planted("arm-id", text, (guid[:8], "contoso"))


_NAMES = ("contoso-hr-api-{i:03d}", "contosopayrollsa{i:02d}", "fabrikam-kv-prod-{i}", "jdoe-dev-{i}", "Contoso{i}Vnet",
          "fabrikamacr{i}")


def _resource_name(rng: random.Random, i: int) -> Planted:
    text = _NAMES[(i // 16) % len(_NAMES)].format(i=i)
    return Planted("resource-name", text, (text,))
