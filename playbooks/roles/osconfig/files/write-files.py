# Writes the files the role renders, all in one run inside the target. On stdin, JSON:
# {"clear": [folders to empty], "remove": [paths], "empty": [files], "files": [{"dest", "content", "mode"}]},
# done in that order; "empty" truncates a regular file and leaves anything else (a link) alone. Each file is
# owned by root, written under a temp name in its folder and renamed into place; a file that already has the
# content, mode and owner is left alone (its mtime too), as ansible.builtin.copy would. Prints the JSON list of
# paths it changed.
# One module run per file costs about a second and a half over the docker connection; this costs one.
import json
import os
import shutil
import sys
import tempfile


def unchanged(path, data, mode):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if not os.path.isfile(path) or os.path.islink(path):
        return False
    if (st.st_mode & 0o7777) != mode or st.st_uid != 0 or st.st_gid != 0:
        return False
    with open(path, "rb") as f:
        return f.read() == data


def write(path, data, mode):
    folder = os.path.dirname(path)
    os.makedirs(folder, mode=0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".airship-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            os.fchmod(f.fileno(), mode)
            os.fchown(f.fileno(), 0, 0)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def absolute(path):
    if not os.path.isabs(path):
        sys.exit("write-files: %r is not an absolute path" % path)
    return path


def tidy(job, changed):
    for folder in map(absolute, job.get("clear", [])):
        if not os.path.isdir(folder) or os.path.islink(folder):
            continue
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
            changed.append(path)
    for path in map(absolute, job.get("remove", [])):
        if os.path.lexists(path) and (os.path.islink(path) or not os.path.isdir(path)):
            os.unlink(path)
            changed.append(path)
    for path in map(absolute, job.get("empty", [])):
        if os.path.isfile(path) and not os.path.islink(path) and os.path.getsize(path) > 0:
            open(path, "wb").close()
            changed.append(path)


def main():
    job = json.load(sys.stdin)
    changed = []
    tidy(job, changed)
    for item in job["files"]:
        path = absolute(item["dest"])
        data = item["content"].encode("utf-8")
        mode = int(str(item["mode"]), 8)
        if unchanged(path, data, mode):
            continue
        write(path, data, mode)
        changed.append(path)
    json.dump(changed, sys.stdout)


main()
