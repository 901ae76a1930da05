export SOURCED_TOOL=/opt/sourced
export PATH=/opt/sourced/bin:$PATH
