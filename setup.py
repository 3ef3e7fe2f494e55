"""One distribution, "prototype": the az extension and its telemetry sender."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'^VERSION = "([^"]+)"', (HERE / "telemetry_sender" / "__init__.py").read_text(), re.M).group(1)

setup(
    name="prototype",
    version=VERSION,
    description="az prototype: an Azure CLI extension with a private, offline-tolerant telemetry pipeline",
    long_description=(HERE / "README.md").read_text(encoding="utf-8") if (HERE / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["azext_prototype", "azext_prototype.*", "telemetry_sender", "telemetry_sender.*"]),
    package_data={"azext_prototype": ["azext_metadata.json"], "telemetry_sender.privacy": ["vocabulary.txt"]},
    # az ships requests, portalocker and PyYAML; installing them again into the
    # extension folder would only duplicate them. Outside az, use the extra.
    install_requires=[],
    extras_require={"standalone": ["requests>=2.25"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "License :: OSI Approved :: MIT License",
    ],
)
