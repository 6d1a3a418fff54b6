resource "terraform_data" "a" {
  input = "harmless"
}
