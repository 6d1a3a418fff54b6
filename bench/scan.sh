#!/bin/sh
# bench/scan.sh: throughput and memory of `tfjail scan`.
#
# Generates uploads of realistic Terraform (resources with nested blocks,
# heredocs, templates, comments; one .tf.json per module) and reports, each
# against a baseline measured in the same run:
#   A  1,000 files / ~10 MB in 20 local modules   (goal: under 1 s)
#   B    100 files /  ~1 MB, same file size        (memory must not follow the upload)
#   C  one ~8 MB file                              (memory follows the largest file)
# Baseline: `cat` of the same files (the cost of reading them at all), and
# grep -r for "provisioner" (what a regex scanner would do).
# Usage: bench/scan.sh [BIN]   (default bin/tfjail); needs /usr/bin/time.
set -eu
bin=${1:-bin/tfjail}
work=$(mktemp -d /tmp/tfjail-bench-scan.XXXXXX)
trap 'rm -rf "$work"' EXIT

# gen DIR MODULES FILES_PER_MODULE RESOURCES_PER_FILE
gen() {
	awk -v dir="$1" -v mods="$2" -v files="$3" -v res="$4" 'BEGIN {
		root = dir "/main.tf"
		for (m = 0; m < mods; m++)
			printf "module \"m%d\" {\n  source = \"./modules/m%d\"\n}\n\n", m, m > root
		close(root)
		for (m = 0; m < mods; m++) {
			system("mkdir -p " dir "/modules/m" m)
			for (f = 0; f < files; f++) {
				if (f == 0) {
					out = dir "/modules/m" m "/gen0.tf.json"
					printf "{\n  \"//\": \"generated\",\n  \"resource\": {\n    \"aws_s3_bucket\": {\n" > out
					for (r = 0; r < res; r++)
						printf "      \"b%d\": {\"bucket\": \"bucket-%d-${var.suffix}\", \"tags\": {\"Name\": \"b%d\", \"Owner\": \"team-%d\"}}%s\n", r, r, r, r % 7, (r < res - 1 ? "," : "") > out
					printf "    }\n  }\n}\n" > out
					close(out)
					continue
				}
				out = dir "/modules/m" m "/gen" f ".tf"
				for (r = 0; r < res; r++) {
					printf "# resource %d of file %d\nresource \"aws_instance\" \"i%d_%d\" {\n", r, f, f, r > out
					printf "  ami           = \"ami-%08d\"\n  instance_type = var.size == \"big\" ? \"m5.large\" : \"t3.micro\"\n", r > out
					printf "  tags = {\n    Name  = \"web-${count.index}-%d\"\n    Team  = \"platform\"\n  }\n", r > out
					printf "  user_data = <<-EOT\n    #!/bin/sh\n    echo provisioner \"local-exec\" {} > /dev/null\n    echo %d\n  EOT\n", r > out
					printf "  /* block comment\n     spanning lines */\n  lifecycle {\n    ignore_changes = [tags[\"Team\"]]\n  }\n}\n\n" > out
				}
				close(out)
			}
		}
	}'
}

measure() { # prints "seconds peak_kib" for a command
	/usr/bin/time -f '%e %M' -o "$work/time" "$@" > /dev/null 2>&1 || true
	cat "$work/time"
}

bytes() { du -sb "$1" | cut -f1; }
nfiles() { find "$1" -type f | wc -l; }

mkdir -p "$work/a" "$work/b" "$work/c"
gen "$work/a" 20 50 25
gen "$work/b" 2 50 25
gen "$work/c" 1 2 16000
# the policy's own upload limits are lifted for the big single file
cat > "$work/policy.json" <<'JSON'
{"version": 1, "name": "bench", "upload": {"max_files": 5000, "max_total_size": "128MiB", "max_file_size": "64MiB"},
 "limits": {"workspace_size": "256MiB"}, "scan": {"max_tokens": 100000000}}
JSON

printf '%-34s %8s %10s %9s %10s %11s %10s\n' upload files MB scan_s peak_MiB cat_s grep_s
for u in a b c; do
	d="$work/$u"
	set -- $(measure "$bin" scan "$d" --policy "$work/policy.json")
	s=$1 rss=$2
	set -- $(measure sh -c "find '$d' -type f -exec cat {} + > /dev/null")
	c=$1
	set -- $(measure grep -rc provisioner "$d")
	g=$1
	case $u in
	a) name="A: 1,000 files, 20 modules";;
	b) name="B: 100 files, 2 modules";;
	c) name="C: one large file";;
	esac
	printf '%-34s %8d %10.1f %9s %10.1f %11s %10s\n' "$name" "$(nfiles "$d")" \
		"$(echo "$(bytes "$d")" | awk '{print $1/1048576}')" "$s" "$(echo "$rss" | awk '{print $1/1024}')" "$c" "$g"
	eval "rss_$u=$rss s_$u=$s"
done
"$bin" scan "$work/a" --policy "$work/policy.json" --output json | head -c 300; echo
awk -v a="$rss_a" -v b="$rss_b" -v c="$rss_c" -v s="$s_a" 'BEGIN {
	printf "peak RSS A/B = %.2f (same file size, 10x the upload)\n", a / b
	printf "peak RSS C/B = %.2f (largest file 80x larger)\n", c / b
	printf "A in %.2f s: %s\n", s, (s < 1.0 ? "within the 1 s goal" : "OVER the 1 s goal")
}'
