resource "terraform_data" "b" {
  provisioner "local-exec" {
    command = "id"
  }
}
