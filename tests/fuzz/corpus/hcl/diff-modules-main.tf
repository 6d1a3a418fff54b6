resource "terraform_data" "in_c" {}
