#!/usr/bin/python3
# The KRM function of an airship-image-builder QCOW bundle image (`docker run -i --rm IMAGE < list.yaml`).
# It reads a ResourceList on stdin and prints it with one more item: the profile JSON named by the function
# config's `data.configPath` (default /profiles/profile_multistrap.json) as YAML, under the function
# config's `data.header` (apiVersion/kind/metadata of a VariableCatalogue). Runs with the image's own
# python3 and PyYAML (a dependency of cloud-init), so nothing is fetched at run time.
import json
import sys

import yaml

DEFAULT_CONFIG_PATH = "/profiles/profile_multistrap.json"


def fail(message):
    sys.stderr.write("variable-catalogue: %s\n" % message)
    sys.exit(1)


def read_list(text):
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        fail("stdin is not YAML: %s" % err)
    if not isinstance(doc, dict) or doc.get("kind") != "ResourceList":
        fail("stdin is not a ResourceList (expected a mapping with kind: ResourceList)")
    items = doc.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        fail("ResourceList.items must be a list")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            fail("ResourceList.items[%d] is not a mapping" % i)
    config = doc.get("functionConfig") or {}
    if not isinstance(config, dict):
        fail("ResourceList.functionConfig must be a mapping")
    data = config.get("data") or {}
    if not isinstance(data, dict):
        fail("functionConfig.data must be a mapping")
    return doc, items, data


def catalogue(data):
    header_text = data.get("header", "")
    path = data.get("configPath") or DEFAULT_CONFIG_PATH
    if not isinstance(header_text, str) or not isinstance(path, str):
        fail("functionConfig.data.header and data.configPath must be strings")
    try:
        header = yaml.safe_load(header_text) if header_text.strip() else {}
    except yaml.YAMLError as err:
        fail("functionConfig.data.header is not YAML: %s" % err)
    if not isinstance(header, dict):
        fail("functionConfig.data.header must be a YAML mapping (apiVersion, kind, metadata)")
    try:
        with open(path, encoding="utf-8") as f:
            values = json.load(f)
    except OSError as err:
        fail("cannot read configPath %s: %s" % (path, err.strerror))
    except ValueError as err:
        fail("configPath %s is not JSON: %s" % (path, err))
    if not isinstance(values, dict):
        fail("configPath %s does not hold a JSON object" % path)
    item = dict(header)
    for key, value in values.items():
        if key in item:
            fail("configPath %s sets %r, which the header sets too" % (path, key))
        item[key] = value
    return item


def main():
    doc, items, data = read_list(sys.stdin.read())
    items.append(catalogue(data))
    doc["items"] = items
    sys.stdout.write(yaml.safe_dump(doc, default_flow_style=False, sort_keys=False))


if __name__ == "__main__":
    main()
