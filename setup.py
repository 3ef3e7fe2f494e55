"""One distribution, "prototype": the az extension and its telemetry sender."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'^VERSION = "([^"]+)"', (HERE / "telemetry_sender" / "__init__.py").read_text(), re.M).group(1)

LONG_DESCRIPTION = """\
Create and manage AI-assisted Azure prototype projects (az prototype init, status, config).

Each command records one sanitized usage event (TELEMETRY.md in the extension lists every
field); opt out with 'az config set core.collect_telemetry=no' or DO_NOT_TRACK=1.
'az prototype telemetry status|show|flush|purge' shows and manages what waits to be sent.
Changes: HISTORY.rst.
"""

setup(
    name="prototype",
    version=VERSION,
    description="az prototype: an Azure CLI extension with a private, offline-tolerant telemetry pipeline",
    # What `az extension show` prints as the description: short, for users (the README is for developers).
    long_description=LONG_DESCRIPTION,
    long_description_content_type="text/x-rst",
    author="az prototype maintainers",
    # No public project page exists yet; the one link that is true today is the privacy statement
    # TELEMETRY.md refers to. Add `url=` when the project has a home.
    project_urls={"Privacy statement": "https://privacy.microsoft.com/privacystatement"},
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["azext_prototype", "azext_prototype.*", "telemetry_sender", "telemetry_sender.*"]),
    package_data={"azext_prototype": ["azext_metadata.json", "TELEMETRY.md"], "telemetry_sender.privacy": ["vocabulary.txt"]},
    # az ships requests, portalocker and PyYAML; installing them again into the
    # extension folder would only duplicate them. Outside az, use the extra.
    install_requires=[],
    extras_require={"standalone": ["requests>=2.25"]},
    classifiers=[
        "Development Status :: 4 - Beta",
        "Environment :: Console",
        "Intended Audience :: Developers",
        "Intended Audience :: System Administrators",
        "License :: OSI Approved :: MIT License",
        "Operating System :: OS Independent",
        "Programming Language :: Python",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Topic :: Software Development",
    ],
)
