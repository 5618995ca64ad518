# Sourced by the whole-space search timings (search_loop.sh, search_workers.sh,
# predictor_loop.sh): strict mode, the repository root as the working folder, a copy of the
# committed whole-space store in $tmp/scores.db (the committed one stays untouched; $tmp goes
# on exit), the zc_dev ensemble's members in $members, and the first output line: the commit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp reports/search/wholespace/scores.db "$tmp/scores.db"
members=az_expressivity,az_progressivity,az_trainability,flops,meco,zico,vkdnw_single,jacob_cov
echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- zcbench searchers proxies || echo ' + working tree'), $(date -u +%F), $(nproc) cores"
